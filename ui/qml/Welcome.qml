// Welcome: language, what to do, how it works in pictures; a corner door to staff mode.
import QtQuick

Item {
    objectName: "screen-welcome"
    // Large text on a landscape screen can be taller than the window: scroll, never overlap.
    Flickable {
        anchors.fill: parent
        anchors.bottomMargin: staffDoor.height + theme.values.spacing
        contentWidth: width
        contentHeight: content.height
        clip: true
        boundsBehavior: Flickable.StopAtBounds
    Column {
        id: content
        width: parent.width
        spacing: theme.values.spacing * 2
        Heading { text: kiosk.tr.welcome_title; horizontalAlignment: Text.AlignHCenter }
        Body { text: kiosk.tr.welcome_hint; horizontalAlignment: Text.AlignHCenter }
        Row {
            anchors.horizontalCenter: parent.horizontalCenter
            spacing: theme.values.spacing * 2
            BigButton { objectName: "lang-vi"; text: "Tiếng Việt"; primary: kiosk.state.language === "vi"; onClicked: kiosk.chooseLanguage("vi") }
            BigButton { objectName: "lang-en"; text: "English"; primary: kiosk.state.language === "en"; onClicked: kiosk.chooseLanguage("en") }
        }
        Flow {
            width: parent.width
            spacing: theme.values.spacing * 2
            BigButton { objectName: "borrow"; visible: kiosk.state.can_borrow; primary: true; width: parent.width / 2 - theme.values.spacing; text: kiosk.tr.borrow; onClicked: kiosk.start("checkout") }
            BigButton { objectName: "return"; visible: kiosk.state.can_return; primary: true; width: parent.width / 2 - theme.values.spacing; text: kiosk.tr["return"]; onClicked: kiosk.startReturn() }
            BigButton { objectName: "account"; visible: kiosk.state.can_borrow; width: parent.width / 2 - theme.values.spacing; text: kiosk.tr.my_account; onClicked: kiosk.start("account") }
        }
        Body { text: kiosk.tr.how_to; font.bold: true }
        HowTo { width: parent.width }
    }
    }
    BigButton {
        id: staffDoor
        objectName: "staffDoor"
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        text: kiosk.tr.staff
        onClicked: kiosk.staffOpen()
    }
}
