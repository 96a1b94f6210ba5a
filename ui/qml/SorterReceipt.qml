// A receipt for the whole drop: print, e-mail (typed here: nobody signed in), a QR code, or none.
import QtQuick

Item {
    id: screen
    objectName: "screen-" + sorter.state.screen
    readonly property string kind: sorter.state.screen

    Column {
        id: head
        width: parent.width
        spacing: theme.values.spacing
        Heading {
            text: screen.kind === "receipt_qr" ? sorter.tr.receipt_qr
                : screen.kind === "receipt_email" ? sorter.tr.sorter_email_title
                : sorter.tr.receipt_title
        }
        Body {
            visible: screen.kind === "receipt"
            text: sorter.state.busy ? sorter.tr.processing : sorter.state.count + (sorter.state.to_staff !== "" ? "; " + sorter.state.to_staff : "")
        }
    }

    Flow {
        id: choices
        visible: screen.kind === "receipt"
        anchors.top: head.bottom
        anchors.topMargin: theme.values.spacing * 2
        width: parent.width
        spacing: theme.values.spacing * 1.5
        BigButton { objectName: "receipt-print"; visible: sorter.state.receipts.indexOf("print") >= 0; text: sorter.tr.receipt_print; enabledButton: !sorter.state.busy; onClicked: sorter.receipt("print") }
        BigButton { objectName: "receipt-email"; visible: sorter.state.receipts.indexOf("email") >= 0; text: sorter.tr.receipt_email; enabledButton: !sorter.state.busy; onClicked: sorter.receipt("email") }
        BigButton { objectName: "receipt-qr"; visible: sorter.state.receipts.indexOf("qr") >= 0; text: sorter.tr.receipt_qr; enabledButton: !sorter.state.busy; onClicked: sorter.receipt("qr") }
        BigButton { objectName: "receipt-none"; primary: true; text: sorter.tr.receipt_none; onClicked: sorter.home() }
    }

    // What the receipt will list: the drop's items, as the patron saw them arrive.
    ItemList {
        visible: screen.kind === "receipt"
        anchors.top: choices.bottom
        anchors.topMargin: theme.values.spacing * 1.5
        anchors.bottom: parent.bottom
        width: parent.width
        model: sorter.rows
    }

    // E-mail: the address as typed, and a keyboard of what addresses are made of.
    Column {
        visible: screen.kind === "receipt_email"
        anchors.top: head.bottom
        anchors.topMargin: theme.values.spacing
        width: parent.width
        spacing: theme.values.spacing / 2
        Rectangle {
            width: parent.width
            height: emailText.implicitHeight + theme.values.spacing
            color: theme.values.colors.panel
            border.color: theme.values.colors.border
            border.width: 2
            radius: 6
            Text {
                id: emailText
                objectName: "emailText"
                anchors.verticalCenter: parent.verticalCenter
                x: theme.values.spacing
                width: parent.width - theme.values.spacing * 2
                text: sorter.state.email || " "
                font.pixelSize: theme.values.font * 1.2
                color: theme.values.colors.text
                elide: Text.ElideLeft
            }
        }
        // A phone's layout, ten keys a row; the last row holds the actions.
        Flow {
            id: keys
            width: parent.width
            spacing: Math.round(theme.values.spacing / 3)
            // Floored, so ten keys and their gaps never overflow the row and wrap at nine.
            readonly property real key: Math.floor((width - spacing * 9) / 10)
            readonly property real tall: theme.values.touch * 0.9
            Repeater {
                model: "1234567890qwertyuiopasdfghjkl@zxcvbnm.-_+⌫".split("")
                BigButton {
                    objectName: "key-" + modelData
                    width: keys.key
                    height: keys.tall
                    implicitWidth: width
                    implicitHeight: height
                    text: modelData
                    onClicked: sorter.emailKey(modelData)
                }
            }
            BigButton {
                objectName: "email-send"
                width: keys.key * 4 + keys.spacing * 3
                height: keys.tall
                implicitWidth: width
                implicitHeight: height
                primary: true
                text: sorter.tr.sorter_email_send
                enabledButton: !sorter.state.busy
                onClicked: sorter.receipt("email")
            }
            BigButton {
                objectName: "email-back"
                width: keys.key * 4 + keys.spacing * 3
                height: keys.tall
                implicitWidth: width
                implicitHeight: height
                text: sorter.tr.back
                onClicked: sorter.receiptBack()
            }
        }
    }

    Row {
        visible: screen.kind === "receipt_qr"
        anchors.top: head.bottom
        anchors.topMargin: theme.values.spacing
        anchors.bottom: parent.bottom
        width: parent.width
        spacing: theme.values.spacing * 2
        Rectangle {
            height: parent.height
            width: height
            color: "white"
            Image {
                objectName: "qrImage"
                anchors.fill: parent
                anchors.margins: theme.values.spacing
                source: sorter.state.qr
                sourceSize.width: width
                sourceSize.height: height
                smooth: false
            }
        }
        Column {
            width: parent.width - parent.height - parent.spacing
            spacing: theme.values.spacing * 2
            Body { text: sorter.tr.receipt_qr_hint }
            BigButton { objectName: "finish"; primary: true; text: sorter.tr.finish; onClicked: sorter.home() }
        }
    }

    // A receipt screen left alone goes back to an empty drop screen for the next patron.
    Timer { id: leave; interval: 90000; running: true; onTriggered: sorter.dropTimeout() }
    Connections { target: sorter; function onChanged() { leave.restart() } }
}
