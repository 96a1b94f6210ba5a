// A screen title.
import QtQuick

Text {
    font.pixelSize: theme.values.title
    font.bold: true
    color: theme.values.colors.text
    wrapMode: Text.WordWrap
    width: parent ? parent.width : implicitWidth
}
