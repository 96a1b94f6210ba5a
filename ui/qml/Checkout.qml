// The stack: each item appears as the engine reads it; prompts and refusals stay on their row.
import QtQuick

Item {
    objectName: "screen-checkout"
    Column {
        id: top
        width: parent.width
        spacing: theme.values.spacing
        Heading { text: kiosk.state.greeting }
        Body { visible: kiosk.state.offline; text: kiosk.tr.offline_session; color: theme.values.colors.attention }
        Body { text: kiosk.tr.place_items }
        Body { text: kiosk.state.count + (kiosk.state.attention ? " — " + kiosk.state.attention : ""); color: kiosk.state.attention ? theme.values.colors.attention : theme.values.colors.muted; font.bold: true }
    }
    ItemList {
        anchors.top: top.bottom
        anchors.bottom: buttons.top
        anchors.margins: theme.values.spacing
        width: parent.width
        model: kiosk.items
    }
    Flow {
        id: buttons
        anchors.bottom: parent.bottom
        width: parent.width
        spacing: theme.values.spacing * 2
        BigButton { objectName: "done"; primary: true; text: kiosk.tr.done; onClicked: kiosk.finish() }
        BigButton { objectName: "openAccount"; text: kiosk.tr.my_account; onClicked: kiosk.openAccount() }
        BigButton { objectName: "cancel"; text: kiosk.tr.cancel; onClicked: kiosk.cancel() }
    }
}
