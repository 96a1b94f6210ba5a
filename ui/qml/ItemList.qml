// The rows of the stack as the engine reports them: title, outcome, due date or reason.
import QtQuick

ListView {
    id: list
    objectName: "itemList"
    clip: true
    spacing: theme.values.spacing / 2
    delegate: Rectangle {
        width: list.width
        height: rowColumn.implicitHeight + theme.values.spacing * 2
        color: theme.values.colors.panel
        border.color: theme.values.colors.border
        border.width: theme.values.border
        radius: 6
        readonly property color stateColor: modelData.state === "ok" ? theme.values.colors.ok
            : modelData.state === "failed" ? theme.values.colors.failed
            : modelData.state === "processing" ? theme.values.colors.muted
            : theme.values.colors.attention
        Rectangle { width: theme.values.spacing; height: parent.height; color: parent.stateColor; radius: 3 }
        Column {
            id: rowColumn
            x: theme.values.spacing * 2
            y: theme.values.spacing
            width: parent.width - theme.values.spacing * 3
            spacing: 2
            Text { width: parent.width; text: modelData.title; font.pixelSize: theme.values.font; font.bold: true; color: theme.values.colors.text; elide: Text.ElideRight }
            Text { width: parent.width; text: modelData.text; font.pixelSize: theme.values.small; color: parent.parent.stateColor; font.bold: true; wrapMode: Text.WordWrap }
            Text { visible: text !== ""; width: parent.width; text: modelData.due; font.pixelSize: theme.values.small; color: theme.values.colors.text }
            Text { visible: text !== ""; width: parent.width; text: modelData.detail; font.pixelSize: theme.values.small; color: theme.values.colors.muted; wrapMode: Text.WordWrap }
        }
    }
}
