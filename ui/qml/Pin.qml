// The patron's PIN.
import QtQuick

Item {
    objectName: "screen-pin"
    Column {
        anchors.fill: parent
        spacing: theme.values.spacing * 2
        Heading { text: kiosk.tr.pin_title; horizontalAlignment: Text.AlignHCenter }
        Text {
            objectName: "pinDots"
            anchors.horizontalCenter: parent.horizontalCenter
            text: kiosk.state.pin_dots || " "
            font.pixelSize: theme.values.title
            color: theme.values.colors.text
        }
        PinPad {
            anchors.horizontalCenter: parent.horizontalCenter
            onKey: (k) => kiosk.pinKey(k)
            onSubmit: kiosk.submitPin()
        }
        Row {
            anchors.horizontalCenter: parent.horizontalCenter
            spacing: theme.values.spacing * 2
            BigButton { text: kiosk.tr.clear; onClicked: kiosk.pinClear() }
            BigButton { objectName: "back"; text: kiosk.tr.cancel; onClicked: kiosk.home() }
        }
    }
}
