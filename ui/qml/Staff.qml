// Staff mode: device status and the engine's staff controls.
import QtQuick

Item {
    objectName: "screen-staff"
    Column {
        anchors.fill: parent
        spacing: theme.values.spacing * 2
        Heading { text: kiosk.tr.staff_title }
        Grid {
            columns: 2
            columnSpacing: theme.values.spacing * 3
            rowSpacing: theme.values.spacing
            Repeater {
                model: kiosk.state.staff_status
                Text { text: modelData.label + ":  " + modelData.value; font.pixelSize: theme.values.font; color: theme.values.colors.text }
            }
        }
        Flow {
            width: parent.width
            spacing: theme.values.spacing * 2
            BigButton { objectName: "staff-out"; text: kiosk.tr.staff_out_of_service; onClicked: kiosk.staffAction("out_of_service") }
            BigButton { objectName: "staff-in"; text: kiosk.tr.staff_in_service; onClicked: kiosk.staffAction("in_service") }
            BigButton { objectName: "staff-reset"; text: kiosk.tr.staff_reset; onClicked: kiosk.staffAction("reset") }
            BigButton { objectName: "staff-refresh"; text: kiosk.tr.staff_refresh; onClicked: kiosk.staffRefresh() }
            BigButton { objectName: "staff-exit"; primary: true; text: kiosk.tr.staff_exit; onClicked: kiosk.staffExit() }
        }
    }
}
