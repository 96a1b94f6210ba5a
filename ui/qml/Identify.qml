// Identify: scan or tap a card (the engine reads it and moves us on), or type the number.
import QtQuick

Item {
    objectName: "screen-identify"
    Column {
        anchors.fill: parent
        spacing: theme.values.spacing * 2
        Heading { text: kiosk.tr.identify_title }
        Body { text: kiosk.tr.identify_hint }
        Rectangle {
            visible: !kiosk.state.typing
            anchors.horizontalCenter: parent.horizontalCenter
            width: theme.values.touch * 3; height: theme.values.touch * 2
            radius: 12; color: theme.values.colors.accent
            Row {
                anchors.centerIn: parent
                spacing: 6
                Repeater {
                    model: [3, 1, 2, 1, 4, 1, 1, 3, 2, 1, 3]
                    Rectangle { width: modelData * 4; height: theme.values.touch * 1.2; color: theme.values.colors.accentText }
                }
            }
        }
        BigButton {
            objectName: "typeNumber"
            visible: !kiosk.state.typing
            text: kiosk.tr.type_number
            onClicked: kiosk.showKeyboard(true)
        }
        Rectangle {
            visible: kiosk.state.typing
            width: parent.width; height: theme.values.touch
            color: theme.values.colors.panel; border.color: theme.values.colors.border; border.width: 2
            Text {
                anchors.verticalCenter: parent.verticalCenter; x: theme.values.spacing
                text: kiosk.state.typed_id || kiosk.tr.card_number
                color: kiosk.state.typed_id ? theme.values.colors.text : theme.values.colors.muted
                font.pixelSize: theme.values.title
            }
        }
        Keyboard {
            visible: kiosk.state.typing
            width: parent.width
            onKey: (k) => kiosk.typeKey(k)
        }
        Row {
            spacing: theme.values.spacing * 2
            BigButton { objectName: "back"; text: kiosk.tr.back; onClicked: kiosk.home() }
            BigButton { objectName: "submitId"; visible: kiosk.state.typing; primary: true; text: kiosk.tr.ok; enabledButton: !kiosk.state.busy; onClicked: kiosk.submitId() }
        }
    }
}
