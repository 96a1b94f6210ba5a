// Out of service, in both languages at once: nobody chose a language for this screen.
import QtQuick

Item {
    objectName: "screen-out_of_service"
    Column {
        anchors.centerIn: parent
        width: parent.width
        spacing: theme.values.spacing * 2
        Heading { text: "Tạm ngừng phục vụ"; horizontalAlignment: Text.AlignHCenter }
        Heading { text: "Out of service"; horizontalAlignment: Text.AlignHCenter; color: theme.values.colors.muted }
        Body { text: "Xin lỗi, máy đang tạm ngừng. Hãy hỏi thủ thư."; horizontalAlignment: Text.AlignHCenter }
        Body { text: "Sorry, this kiosk is paused. Please ask staff."; horizontalAlignment: Text.AlignHCenter; color: theme.values.colors.muted }
        Body { visible: !kiosk.state.connected; text: "Đang kết nối lại… / Reconnecting…"; horizontalAlignment: Text.AlignHCenter; color: theme.values.colors.attention }
    }
    BigButton {
        objectName: "staffDoor"
        visible: kiosk.state.connected
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        text: kiosk.tr.staff
        onClicked: kiosk.staffOpen()
    }
}
