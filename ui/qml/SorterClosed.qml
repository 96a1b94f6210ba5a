// Intake closed, machine paused, or the sorter out of reach: said in both languages at once,
// since the patron may not have chosen one; a receipt stays possible for items already in.
import QtQuick

Item {
    id: screen
    objectName: "screen-" + sorter.state.screen
    readonly property string kind: sorter.state.screen
    readonly property var notice: sorter.state.notice

    Column {
        anchors.centerIn: parent
        width: parent.width
        spacing: theme.values.spacing
        Heading { objectName: "closedTitle"; text: screen.notice.title[0] || ""; horizontalAlignment: Text.AlignHCenter; color: theme.values.colors.failed }
        Heading { text: screen.notice.title[1] || ""; horizontalAlignment: Text.AlignHCenter; color: theme.values.colors.muted }
        Body { text: screen.notice.hint[0] || ""; horizontalAlignment: Text.AlignHCenter }
        Body { text: screen.notice.hint[1] || ""; horizontalAlignment: Text.AlignHCenter; color: theme.values.colors.muted }
        Body {
            visible: text !== ""
            text: screen.notice.extra
            horizontalAlignment: Text.AlignHCenter
            color: theme.values.colors.attention
        }
        Body { visible: sorter.state.has_items; text: sorter.state.count; horizontalAlignment: Text.AlignHCenter; font.bold: true }
    }
    Row {
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        spacing: theme.values.spacing
        BigButton { objectName: "receipt"; visible: sorter.state.has_items && sorter.state.connected; text: sorter.tr.sorter_receipt; onClicked: sorter.finish(true) }
        BigButton { objectName: "staffDoor"; visible: sorter.state.connected; text: sorter.tr.staff; onClicked: sorter.staffOpen() }
    }
}
