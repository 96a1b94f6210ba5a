// "How to use" in pictures: card, PIN pad, books on the pad, receipt — drawn, not bundled.
import QtQuick

Grid {
    id: steps
    spacing: theme.values.spacing
    columns: 4
    property real cell: (width - spacing * (columns - 1)) / columns
    property real aspect: 0.7  // picture height / width
    Repeater {
        model: [kiosk.tr.step_card, kiosk.tr.step_pin, kiosk.tr.step_pad, kiosk.tr.step_receipt]
        Column {
            width: steps.cell
            spacing: theme.values.spacing / 2
            Item {
                width: steps.cell; height: steps.cell * steps.aspect
                // card
                Rectangle {
                    visible: index === 0
                    anchors.centerIn: parent; width: parent.width * 0.7; height: parent.height * 0.6
                    radius: 8; color: theme.values.colors.accent
                    Rectangle { x: 8; y: parent.height - 18; width: parent.width - 16; height: 8; color: theme.values.colors.accentText }
                }
                // PIN pad
                Grid {
                    visible: index === 1
                    anchors.centerIn: parent; columns: 3; spacing: 4
                    Repeater { model: 9; Rectangle { width: steps.cell * 0.15; height: width; radius: 3; color: theme.values.colors.accent } }
                }
                // books on the pad
                Item {
                    visible: index === 2
                    anchors.fill: parent
                    Rectangle { anchors.bottom: parent.bottom; anchors.horizontalCenter: parent.horizontalCenter; width: parent.width * 0.8; height: parent.height * 0.15; radius: 4; color: theme.values.colors.muted }
                    Rectangle { y: parent.height * 0.55; anchors.horizontalCenter: parent.horizontalCenter; width: parent.width * 0.55; height: parent.height * 0.15; color: theme.values.colors.ok }
                    Rectangle { y: parent.height * 0.38; anchors.horizontalCenter: parent.horizontalCenter; width: parent.width * 0.5; height: parent.height * 0.15; color: theme.values.colors.accent }
                    Rectangle { y: parent.height * 0.21; anchors.horizontalCenter: parent.horizontalCenter; width: parent.width * 0.45; height: parent.height * 0.15; color: theme.values.colors.attention }
                }
                // receipt
                Rectangle {
                    visible: index === 3
                    anchors.centerIn: parent; width: parent.width * 0.4; height: parent.height * 0.9
                    color: theme.values.colors.panel; border.color: theme.values.colors.text; border.width: 2
                    Column {
                        anchors.centerIn: parent; spacing: 5
                        Repeater { model: 5; Rectangle { width: steps.cell * 0.28; height: 3; color: theme.values.colors.text } }
                    }
                }
            }
            Text {
                width: steps.cell
                text: modelData
                wrapMode: Text.WordWrap
                horizontalAlignment: Text.AlignHCenter
                font.pixelSize: theme.values.small
                color: theme.values.colors.text
            }
        }
    }
}
