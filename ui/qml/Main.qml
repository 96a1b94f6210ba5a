// The kiosk window: one screen at a time, chosen by the viewmodel (kiosk.state.screen).
import QtQuick
import QtQuick.Window

Window {
    id: root
    width: startup.width
    height: startup.height
    visible: true
    visibility: startup.windowed ? Window.Windowed : Window.FullScreen
    title: kiosk.tr.app_title
    color: theme.values.colors.background
    onWidthChanged: theme.fit(width, height)
    onHeightChanged: theme.fit(width, height)
    Component.onCompleted: theme.fit(width, height)

    // Full screen is the patron's screen: a request to close it (a compositor's
    // close, Alt+F4 under a window manager) is refused, so it never uncovers what
    // lies behind. The process stops only through systemd; the app's own close()
    // unlocks first (ui/app.py). tests/ui/test_lockdown.py sends the escapes.
    property bool locked: !startup.windowed
    onClosing: (close) => { close.accepted = !root.locked }

    readonly property var screens: ({
        "welcome": "Welcome.qml",
        "identify": "Identify.qml",
        "pin": "Pin.qml",
        "checkout": "Checkout.qml",
        "return": "Returns.qml",
        "account": "Account.qml",
        "receipt": "Receipt.qml",
        "receipt_qr": "Receipt.qml",
        "goodbye": "Goodbye.qml",
        "out_of_service": "OutOfService.qml",
        "staff_pin": "StaffPin.qml",
        "staff": "Staff.qml"
    })

    Loader {
        id: screenLoader
        objectName: "screenLoader"
        anchors.fill: parent
        anchors.margins: theme.values.spacing * 2
        anchors.bottomMargin: banner.visible ? banner.height + theme.values.spacing * 3 : theme.values.spacing * 2
        source: root.screens[kiosk.state.screen] || "Welcome.qml"
    }

    Rectangle {
        id: banner
        objectName: "banner"
        visible: kiosk.state.message !== ""
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        anchors.margins: theme.values.spacing
        height: bannerText.implicitHeight + theme.values.spacing * 2
        radius: theme.values.spacing
        color: theme.values.colors.panel
        border.color: theme.values.colors.failed
        border.width: 3
        Text {
            id: bannerText
            anchors.centerIn: parent
            width: parent.width - theme.values.spacing * 2
            wrapMode: Text.WordWrap
            horizontalAlignment: Text.AlignHCenter
            text: kiosk.state.message
            font.pixelSize: theme.values.font
            font.bold: true
            color: theme.values.colors.failed
        }
    }

    IdleDialog {
        anchors.fill: parent
        visible: kiosk.state.idle_visible && kiosk.state.connected
    }

    SimPanel {
        objectName: "simPanel"
        visible: startup.simPanel
    }
}
