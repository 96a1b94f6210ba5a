// Staff: every bin with its count, capacity and full flag (empty one, with confirmation),
// the machine's state (belt, PLC, intake, ILS), and the way to the exceptions and the report.
import QtQuick

Item {
    id: screen
    objectName: "screen-staff"

    Heading { id: head; text: sorter.tr.sorter_staff_title }

    // The machine, left; the bins, right.
    Column {
        id: machine
        objectName: "machine"
        anchors.top: head.bottom
        anchors.topMargin: theme.values.spacing
        width: parent.width * 0.34
        spacing: theme.values.spacing / 3
        Repeater {
            model: sorter.state.machine
            Row {
                width: machine.width
                // Wrapped, not cut: large text must still say "Offline" in full.
                Text { width: parent.width * 0.55; text: modelData.label; font.pixelSize: theme.values.small; color: theme.values.colors.muted; wrapMode: Text.WordWrap }
                Text {
                    width: parent.width * 0.45
                    text: modelData.value
                    font.pixelSize: theme.values.small
                    font.bold: true
                    color: modelData.good ? theme.values.colors.text : theme.values.colors.failed
                    wrapMode: Text.WordWrap
                }
            }
        }
        Text {
            objectName: "machineNote"
            visible: text !== ""
            width: machine.width
            topPadding: theme.values.spacing / 2
            text: sorter.state.machine_note
            font.pixelSize: theme.values.small
            font.bold: true
            color: theme.values.colors.attention
            wrapMode: Text.WordWrap
        }
    }

    Flickable {
        anchors.top: head.bottom
        anchors.topMargin: theme.values.spacing
        anchors.left: machine.right
        anchors.leftMargin: theme.values.spacing
        anchors.right: parent.right
        anchors.bottom: actions.top
        anchors.bottomMargin: theme.values.spacing
        contentHeight: bins.height
        clip: true
        boundsBehavior: Flickable.StopAtBounds
        Grid {
            id: bins
            objectName: "bins"
            width: parent.width
            columns: 2
            spacing: theme.values.spacing / 2
            Repeater {
                model: sorter.state.bins
                Rectangle {
                    width: (bins.width - bins.spacing) / 2
                    height: Math.max(theme.values.touch, binColumn.implicitHeight) + theme.values.spacing
                    radius: 6
                    color: theme.values.colors.panel
                    border.color: modelData.full ? theme.values.colors.failed : theme.values.colors.border
                    border.width: modelData.full ? 3 : Math.max(1, theme.values.border)
                    Column {
                        id: binColumn
                        x: theme.values.spacing / 2
                        anchors.verticalCenter: parent.verticalCenter
                        width: parent.width - emptyButton.width - theme.values.spacing * 1.5
                        spacing: 3
                        Text {
                            width: parent.width
                            text: modelData.name
                            font.pixelSize: theme.values.small
                            font.bold: true
                            color: theme.values.colors.text
                            wrapMode: Text.WordWrap
                            maximumLineCount: 2
                            elide: Text.ElideRight
                        }
                        Row {
                            width: parent.width
                            spacing: theme.values.spacing / 2
                            Rectangle {
                                anchors.verticalCenter: parent.verticalCenter
                                width: parent.width - fillText.width - parent.spacing
                                height: theme.values.small
                                color: theme.values.colors.background
                                border.color: theme.values.colors.border
                                Rectangle {
                                    width: parent.width * modelData.level
                                    height: parent.height
                                    color: modelData.full ? theme.values.colors.failed
                                        : modelData.level > 0.8 ? theme.values.colors.attention
                                        : theme.values.colors.ok
                                }
                            }
                            Text {
                                id: fillText
                                text: modelData.fill
                                font.pixelSize: theme.values.small
                                font.bold: modelData.full
                                color: modelData.full ? theme.values.colors.failed : theme.values.colors.text
                            }
                        }
                        Row {
                            width: parent.width
                            spacing: theme.values.spacing
                            Text {
                                id: fullBadge
                                objectName: "full-" + modelData.id
                                visible: modelData.full
                                text: sorter.tr.sorter_full
                                font.pixelSize: theme.values.small
                                font.bold: true
                                color: theme.values.colors.failed
                            }
                            Text {
                                visible: modelData.role !== ""
                                width: parent.width - (fullBadge.visible ? fullBadge.width + parent.spacing : 0)
                                elide: Text.ElideRight
                                text: modelData.role
                                font.pixelSize: theme.values.small
                                color: theme.values.colors.muted
                            }
                        }
                    }
                    BigButton {
                        id: emptyButton
                        objectName: "empty-" + modelData.id
                        anchors.right: parent.right
                        anchors.rightMargin: theme.values.spacing / 2
                        anchors.verticalCenter: parent.verticalCenter
                        implicitWidth: theme.values.touch * 1.4
                        text: sorter.tr.sorter_empty
                        onClicked: sorter.askEmpty(modelData.id)
                    }
                }
            }
        }
    }

    // One row of five: the bins keep the height.
    Row {
        id: actions
        anchors.bottom: parent.bottom
        width: parent.width
        spacing: theme.values.spacing / 2
        readonly property real cell: (width - spacing * 4) / 5
        BigButton {
            objectName: "staff-pause"
            width: actions.cell
            text: sorter.state.paused ? sorter.tr.sorter_resume : sorter.tr.sorter_pause
            onClicked: sorter.staffPause(!sorter.state.paused)
        }
        BigButton { objectName: "staff-exceptions"; width: actions.cell; text: sorter.state.exceptions_label; onClicked: sorter.staffShow("staff_exceptions") }
        BigButton { objectName: "staff-report"; width: actions.cell; text: sorter.state.report_label; onClicked: sorter.staffShow("staff_report") }
        BigButton { objectName: "staff-refresh"; width: actions.cell; text: sorter.tr.staff_refresh; onClicked: sorter.staffRefresh() }
        BigButton { objectName: "staff-exit"; width: actions.cell; primary: true; text: sorter.tr.staff_exit; onClicked: sorter.staffExit() }
    }
}
