// The engine's idle_warning: one big button sends `extend`.
import QtQuick

Rectangle {
    objectName: "idleDialog"
    color: "#b0000000"
    TapHandler {}  // swallow touches behind the dialog
    Rectangle {
        anchors.centerIn: parent
        width: parent.width * 0.8
        height: column.implicitHeight + theme.values.spacing * 4
        radius: theme.values.spacing
        color: theme.values.colors.panel
        border.color: theme.values.colors.attention
        border.width: 4
        Column {
            id: column
            anchors.centerIn: parent
            width: parent.width - theme.values.spacing * 4
            spacing: theme.values.spacing * 2
            Body { text: kiosk.state.idle_text; horizontalAlignment: Text.AlignHCenter; font.bold: true }
            BigButton {
                objectName: "stillHere"
                anchors.horizontalCenter: parent.horizontalCenter
                primary: true
                text: kiosk.tr.still_here
                onClicked: kiosk.stillHere()
            }
        }
    }
}
