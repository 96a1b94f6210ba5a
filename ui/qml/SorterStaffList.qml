// The exception list (each item, why, which bin, when) or the staff report (what to fetch).
import QtQuick

Item {
    id: screen
    objectName: "screen-" + sorter.state.screen
    readonly property bool exceptions: sorter.state.screen === "staff_exceptions"
    readonly property var entries: exceptions ? sorter.state.exceptions : sorter.state.report

    Heading { id: head; text: screen.exceptions ? sorter.tr.sorter_exceptions_title : sorter.tr.sorter_report_title }
    Body {
        anchors.top: head.bottom
        anchors.topMargin: theme.values.spacing
        visible: screen.entries.length === 0
        text: screen.exceptions ? sorter.tr.sorter_no_exceptions : sorter.tr.sorter_no_report
        color: theme.values.colors.muted
    }
    ListView {
        id: list
        objectName: "staffList"
        anchors.top: head.bottom
        anchors.topMargin: theme.values.spacing
        anchors.bottom: back.top
        anchors.bottomMargin: theme.values.spacing
        width: parent.width
        clip: true
        spacing: theme.values.spacing / 3
        model: screen.entries
        delegate: Rectangle {
            width: list.width
            height: entryColumn.implicitHeight + theme.values.spacing
            color: theme.values.colors.panel
            border.color: theme.values.colors.border
            border.width: theme.values.border
            radius: 6
            Column {
                id: entryColumn
                x: theme.values.spacing
                y: theme.values.spacing / 2
                width: parent.width - theme.values.spacing * 2
                Row {
                    width: parent.width
                    spacing: theme.values.spacing
                    Text {
                        width: parent.width - whereText.width - parent.spacing
                        text: screen.exceptions ? modelData.label : modelData.item_id
                        font.pixelSize: theme.values.small
                        font.bold: true
                        color: theme.values.colors.text
                        elide: Text.ElideRight
                    }
                    Text {
                        id: whereText
                        text: screen.exceptions ? modelData.where : modelData.bin
                        font.pixelSize: theme.values.small
                        color: theme.values.colors.muted
                    }
                }
                Text {
                    width: parent.width
                    text: modelData.text
                    font.pixelSize: theme.values.small
                    color: screen.exceptions ? theme.values.colors.failed : theme.values.colors.attention
                    wrapMode: Text.WordWrap
                }
            }
        }
    }
    BigButton { id: back; objectName: "back"; anchors.bottom: parent.bottom; primary: true; text: sorter.tr.back; onClicked: sorter.staffShow("staff") }
}
