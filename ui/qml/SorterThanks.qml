// Thank you; back to an empty drop screen on its own.
import QtQuick

Item {
    objectName: "screen-thanks"
    Column {
        anchors.centerIn: parent
        width: parent.width
        spacing: theme.values.spacing * 2
        Heading { text: sorter.tr.goodbye_title; horizontalAlignment: Text.AlignHCenter; color: theme.values.colors.ok }
        Body { text: sorter.state.count; horizontalAlignment: Text.AlignHCenter; font.bold: true }
        Body { visible: text !== ""; text: sorter.state.to_staff; horizontalAlignment: Text.AlignHCenter; color: theme.values.colors.failed }
        Body { text: sorter.tr.sorter_thanks_hint; horizontalAlignment: Text.AlignHCenter }
        BigButton { objectName: "ok"; anchors.horizontalCenter: parent.horizontalCenter; text: sorter.tr.ok; onClicked: sorter.home() }
    }
    Timer { interval: 6000; running: true; onTriggered: sorter.home() }
}
