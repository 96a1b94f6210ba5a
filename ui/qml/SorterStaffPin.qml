// The staff PIN (checked on this screen against MUONTRA_STAFF_PIN; never logged), laid out
// side by side so the pad fits a short wall screen.
import QtQuick

Item {
    objectName: "screen-staff_pin"
    Row {
        anchors.centerIn: parent
        spacing: theme.values.spacing * 3
        Grid {
            columns: 3
            spacing: theme.values.spacing / 2
            Repeater {
                model: ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
                BigButton {
                    objectName: "pin-" + modelData
                    width: theme.values.touch * 1.3
                    height: theme.values.touch * 1.1
                    implicitWidth: width
                    implicitHeight: height
                    primary: modelData === "OK"
                    text: modelData === "OK" ? sorter.tr.ok : modelData
                    onClicked: modelData === "OK" ? sorter.staffSubmit() : sorter.pinKey(modelData)
                }
            }
        }
        Column {
            anchors.verticalCenter: parent.verticalCenter
            spacing: theme.values.spacing * 2
            Heading { width: theme.values.touch * 4; text: sorter.tr.staff_pin_title }
            Text {
                objectName: "pinDots"
                text: sorter.state.pin_dots || " "
                font.pixelSize: theme.values.title
                color: theme.values.colors.text
            }
            BigButton { text: sorter.tr.clear; onClicked: sorter.pinClear() }
            BigButton { objectName: "back"; text: sorter.tr.cancel; onClicked: sorter.staffExit() }
        }
    }
}
