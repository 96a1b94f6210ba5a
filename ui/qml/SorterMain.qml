// The return machine's wall screen: one screen at a time, chosen by the viewmodel (sorter.state.screen).
import QtQuick
import QtQuick.Window

Window {
    id: root
    width: startup.width
    height: startup.height
    visible: true
    visibility: startup.windowed ? Window.Windowed : Window.FullScreen
    title: sorter.tr.sorter_title
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
        "drop": "SorterDrop.qml",
        "closed": "SorterClosed.qml",
        "paused": "SorterClosed.qml",
        "out_of_service": "SorterClosed.qml",
        "receipt": "SorterReceipt.qml",
        "receipt_email": "SorterReceipt.qml",
        "receipt_qr": "SorterReceipt.qml",
        "thanks": "SorterThanks.qml",
        "staff_pin": "SorterStaffPin.qml",
        "staff": "SorterStaff.qml",
        "staff_exceptions": "SorterStaffList.qml",
        "staff_report": "SorterStaffList.qml"
    })

    Loader {
        id: screenLoader
        objectName: "screenLoader"
        anchors.fill: parent
        anchors.margins: theme.values.spacing * 1.5
        anchors.bottomMargin: banner.visible ? banner.height + theme.values.spacing * 2 : theme.values.spacing * 1.5
        source: root.screens[sorter.state.screen] || "SorterDrop.qml"
        // While the question below is up, the screen behind takes no touch.
        enabled: !sorter.state.confirm.shown
    }

    Rectangle {
        id: banner
        objectName: "banner"
        visible: sorter.state.message !== ""
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        anchors.margins: theme.values.spacing / 2
        height: bannerText.implicitHeight + theme.values.spacing
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
            text: sorter.state.message
            font.pixelSize: theme.values.font
            font.bold: true
            color: theme.values.colors.failed
        }
    }

    // Staff emptying a bin: its count resets, so asked once more and a stray touch costs
    // nothing. Over the whole window (the screens sit inside margins).
    Rectangle {
        objectName: "confirm"
        visible: sorter.state.confirm.shown
        anchors.fill: parent
        color: "#cc000000"
        Rectangle {
            anchors.centerIn: parent
            width: parent.width * 0.8
            height: confirmColumn.implicitHeight + theme.values.spacing * 3
            radius: theme.values.spacing
            color: theme.values.colors.panel
            border.color: theme.values.colors.accent
            border.width: 3
            Column {
                id: confirmColumn
                anchors.centerIn: parent
                width: parent.width - theme.values.spacing * 3
                spacing: theme.values.spacing * 2
                Body { objectName: "confirmText"; text: sorter.state.confirm.text; font.bold: true; horizontalAlignment: Text.AlignHCenter }
                Row {
                    anchors.horizontalCenter: parent.horizontalCenter
                    spacing: theme.values.spacing * 2
                    BigButton { objectName: "confirm-yes"; primary: true; text: sorter.tr.sorter_confirm_yes; onClicked: sorter.confirmEmpty() }
                    BigButton { objectName: "confirm-no"; text: sorter.tr.cancel; onClicked: sorter.cancelEmpty() }
                }
            }
        }
    }
}
