// Goodbye, and why the session ended when the patron did not end it; back to welcome on its own.
import QtQuick

Item {
    objectName: "screen-goodbye"
    Column {
        anchors.centerIn: parent
        width: parent.width
        spacing: theme.values.spacing * 2
        Heading { text: kiosk.tr.goodbye_title; horizontalAlignment: Text.AlignHCenter }
        Body { text: kiosk.state.goodbye_reason || kiosk.tr.goodbye_hint; horizontalAlignment: Text.AlignHCenter }
        BigButton { anchors.horizontalCenter: parent.horizontalCenter; text: kiosk.tr.ok; onClicked: kiosk.home() }
    }
    Timer { interval: 6000; running: true; onTriggered: kiosk.home() }
}
