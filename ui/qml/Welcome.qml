// Welcome: language, what to do, how it works in pictures; a corner door to staff mode.
import QtQuick

Item {
    id: screen
    objectName: "screen-welcome"
    // A landscape screen puts the pictures beside the buttons rather than below them,
    // where large text would push them out of sight.
    readonly property bool wide: width > height * 1.2
    // Tighter rows beside the pictures: buttons, not air, should fill the height.
    readonly property real gap: theme.values.spacing * (wide ? 1 : 2)
    // Large text can still be taller than the window: scroll, never overlap the door.
    Flickable {
        anchors.fill: parent
        // Side by side, the door sits under the pictures' column, which ends well above
        // it: the buttons' column may use the whole height.
        anchors.bottomMargin: screen.wide ? 0 : staffDoor.height + theme.values.spacing
        contentWidth: width
        contentHeight: layout.height
        clip: true
        boundsBehavior: Flickable.StopAtBounds
        Grid {
            id: layout
            width: parent.width
            columns: screen.wide ? 2 : 1
            columnSpacing: screen.gap * 2
            rowSpacing: screen.gap
            Column {
                id: actions
                width: screen.wide ? (layout.width - layout.columnSpacing) * 0.55 : layout.width
                spacing: screen.gap
                Heading { text: kiosk.tr.welcome_title; horizontalAlignment: Text.AlignHCenter }
                Body { text: kiosk.tr.welcome_hint; horizontalAlignment: Text.AlignHCenter }
                Row {
                    anchors.horizontalCenter: parent.horizontalCenter
                    spacing: screen.gap
                    BigButton { objectName: "lang-vi"; text: "Tiếng Việt"; primary: kiosk.state.language === "vi"; onClicked: kiosk.chooseLanguage("vi") }
                    BigButton { objectName: "lang-en"; text: "English"; primary: kiosk.state.language === "en"; onClicked: kiosk.chooseLanguage("en") }
                }
                Flow {
                    id: choices
                    width: parent.width
                    spacing: screen.gap
                    // Side by side in a full-width column; one under another in the narrower one.
                    readonly property real cell: screen.wide ? width : width / 2 - spacing / 2
                    BigButton { objectName: "borrow"; visible: kiosk.state.can_borrow; primary: true; width: choices.cell; text: kiosk.tr.borrow; onClicked: kiosk.start("checkout") }
                    BigButton { objectName: "return"; visible: kiosk.state.can_return; primary: true; width: choices.cell; text: kiosk.tr["return"]; onClicked: kiosk.startReturn() }
                    BigButton { objectName: "account"; visible: kiosk.state.can_borrow; width: choices.cell; text: kiosk.tr.my_account; onClicked: kiosk.start("account") }
                }
            }
            Column {
                objectName: "howTo"
                width: screen.wide ? layout.width - actions.width - layout.columnSpacing : layout.width
                spacing: screen.gap
                Body { text: kiosk.tr.how_to; font.bold: true }
                HowTo { width: parent.width; columns: screen.wide ? 2 : 4; aspect: screen.wide ? 0.45 : 0.7 }
            }
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
