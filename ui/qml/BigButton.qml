// A touch target at least 15 mm on a side (theme.values.touch), label in the patron's language.
import QtQuick

Rectangle {
    id: button
    property string text: ""
    property bool primary: false
    property bool enabledButton: true
    signal clicked()
    implicitWidth: Math.max(theme.values.touch * 2.2, label.implicitWidth + theme.values.spacing * 3)
    implicitHeight: Math.max(theme.values.touch, label.implicitHeight + theme.values.spacing * 2)
    radius: theme.values.spacing
    opacity: enabledButton ? 1.0 : 0.4
    color: primary ? theme.values.colors.accent : theme.values.colors.panel
    border.color: primary ? theme.values.colors.accent : theme.values.colors.border
    border.width: Math.max(2, theme.values.border * 2)
    Accessible.role: Accessible.Button
    Accessible.name: text

    Text {
        id: label
        anchors.centerIn: parent
        width: parent.width - theme.values.spacing * 2
        horizontalAlignment: Text.AlignHCenter
        // One line, shrunk to fit a fixed-width key ("Đồng ý" on the PIN pad) rather
        // than broken in the middle of a word pair.
        wrapMode: Text.NoWrap
        fontSizeMode: Text.HorizontalFit
        minimumPixelSize: Math.round(theme.values.font * 0.55)
        text: button.text
        font.pixelSize: theme.values.font
        font.bold: true
        color: button.primary ? theme.values.colors.accentText : theme.values.colors.text
    }
    TapHandler {
        enabled: button.enabledButton
        onTapped: button.clicked()
    }
}
