// Ordinary text that wraps to the width of its column.
import QtQuick

Text {
    font.pixelSize: theme.values.font
    color: theme.values.colors.text
    wrapMode: Text.WordWrap
    width: parent ? parent.width : implicitWidth
}
