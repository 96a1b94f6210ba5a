// Returns: each item as it is checked in, with the alert when it must stay at the desk.
import QtQuick

Item {
    objectName: "screen-return"
    Column {
        id: top
        width: parent.width
        spacing: theme.values.spacing
        Heading { text: kiosk.tr.return_title }
        Body { text: kiosk.tr.place_returns }
    }
    ItemList {
        anchors.top: top.bottom
        anchors.bottom: finishButton.top
        anchors.margins: theme.values.spacing
        width: parent.width
        model: kiosk.returns
    }
    BigButton {
        id: finishButton
        objectName: "finish"
        anchors.bottom: parent.bottom
        primary: true
        text: kiosk.tr.finish
        onClicked: kiosk.home()
    }
}
