// The staff PIN (checked on this screen against MUONTRA_STAFF_PIN; never logged).
import QtQuick

Item {
    objectName: "screen-staff_pin"
    Column {
        anchors.fill: parent
        spacing: theme.values.spacing * 2
        Heading { text: kiosk.tr.staff_pin_title; horizontalAlignment: Text.AlignHCenter }
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
            onSubmit: kiosk.staffSubmit()
        }
        Row {
            anchors.horizontalCenter: parent.horizontalCenter
            spacing: theme.values.spacing * 2
            BigButton { text: kiosk.tr.clear; onClicked: kiosk.pinClear() }
            BigButton { objectName: "back"; text: kiosk.tr.cancel; onClicked: kiosk.staffExit() }
        }
    }
}
