// The receipt: print, e-mail, a QR code drawn from the engine's SVG, or none.
import QtQuick

Item {
    objectName: kiosk.state.screen === "receipt_qr" ? "screen-receipt_qr" : "screen-receipt"
    Column {
        anchors.fill: parent
        spacing: theme.values.spacing * 2
        Heading { text: kiosk.state.screen === "receipt_qr" ? kiosk.tr.receipt_qr : kiosk.tr.receipt_title }
        Body { text: kiosk.state.busy && kiosk.state.summary === "" ? kiosk.tr.processing : kiosk.state.summary }
        Flow {
            visible: kiosk.state.screen === "receipt"
            width: parent.width
            spacing: theme.values.spacing * 2
            BigButton { objectName: "receipt-print"; visible: kiosk.state.print_available; text: kiosk.tr.receipt_print; enabledButton: kiosk.state.summary !== ""; onClicked: kiosk.receipt("print") }
            BigButton { objectName: "receipt-email"; visible: kiosk.state.email_available; text: kiosk.tr.receipt_email; onClicked: kiosk.receipt("email") }
            BigButton { objectName: "receipt-qr"; visible: kiosk.state.qr_available; text: kiosk.tr.receipt_qr; enabledButton: kiosk.state.summary !== ""; onClicked: kiosk.receipt("qr") }
            BigButton { objectName: "receipt-none"; primary: true; text: kiosk.tr.receipt_none; enabledButton: kiosk.state.summary !== ""; onClicked: kiosk.receipt("none") }
        }
        Body { visible: kiosk.state.screen === "receipt_qr"; text: kiosk.tr.receipt_qr_hint }
        Rectangle {
            visible: kiosk.state.screen === "receipt_qr"
            anchors.horizontalCenter: parent.horizontalCenter
            width: Math.min(parent.width, theme.values.touch * 5); height: width
            color: "white"
            Image {
                objectName: "qrImage"
                anchors.fill: parent
                anchors.margins: theme.values.spacing
                source: kiosk.state.qr
                sourceSize.width: width
                sourceSize.height: height
                smooth: false
            }
        }
        BigButton { objectName: "finish"; visible: kiosk.state.screen === "receipt_qr"; primary: true; text: kiosk.tr.finish; onClicked: kiosk.home() }
    }
}
