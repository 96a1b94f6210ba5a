// How to use the wall, without words: one book, an arrow, the slot; drawn, nothing bundled.
import QtQuick

Item {
    id: picture
    objectName: "slotPicture"
    readonly property real unit: Math.min(width / 6, height / 5)

    Column {
        anchors.centerIn: parent
        spacing: picture.unit * 0.15
        // A book, spine up: the way it goes in.
        Rectangle {
            anchors.horizontalCenter: parent.horizontalCenter
            width: picture.unit * 1.6
            height: picture.unit * 2
            radius: picture.unit * 0.08
            color: theme.values.colors.accent
            Rectangle {
                x: parent.width * 0.12
                width: parent.width * 0.1
                height: parent.height
                color: theme.values.colors.accentText
                opacity: 0.35
            }
            Rectangle {
                anchors.horizontalCenter: parent.horizontalCenter
                y: parent.height * 0.25
                width: parent.width * 0.5
                height: parent.height * 0.08
                color: theme.values.colors.accentText
                opacity: 0.8
            }
        }
        Text {
            anchors.horizontalCenter: parent.horizontalCenter
            text: "↓"
            font.pixelSize: picture.unit * 1.1
            font.bold: true
            color: theme.values.colors.ok
        }
        // The slot in the wall.
        Rectangle {
            anchors.horizontalCenter: parent.horizontalCenter
            width: picture.unit * 3.2
            height: picture.unit * 0.45
            radius: height / 2
            color: theme.values.colors.text
            border.color: theme.values.colors.border
            border.width: Math.max(2, theme.values.border * 2)
        }
    }
}
