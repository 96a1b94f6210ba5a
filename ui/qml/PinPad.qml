// A PIN pad: 1–9, erase, 0, OK; the digits are never shown, only dots.
import QtQuick

Column {
    id: pad
    signal key(string k)
    signal submit()
    spacing: theme.values.spacing
    Grid {
        anchors.horizontalCenter: parent.horizontalCenter
        columns: 3
        spacing: theme.values.spacing
        Repeater {
            model: ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
            BigButton {
                objectName: "pin-" + modelData
                width: theme.values.touch * 1.5
                implicitWidth: width
                primary: modelData === "OK"
                text: modelData === "OK" ? kiosk.tr.ok : modelData
                onClicked: modelData === "OK" ? pad.submit() : pad.key(modelData)
            }
        }
    }
}
