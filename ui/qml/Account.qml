// My account: loans with due dates (renew one or all), holds ready, fines, the ILS's messages.
import QtQuick

Item {
    objectName: "screen-account"
    Column {
        id: top
        width: parent.width
        spacing: theme.values.spacing
        Heading { text: kiosk.tr.account_title + " — " + kiosk.state.greeting }
        Body { visible: !kiosk.state.account.loaded; text: kiosk.tr.loading }
        Body { visible: kiosk.state.account.messages !== ""; text: kiosk.state.account.messages; color: theme.values.colors.muted }
        Body { text: kiosk.tr.holds_ready + ": " + kiosk.state.account.holds }
        Body { text: kiosk.tr.fines + ": " + kiosk.state.account.fines }
        Body { text: kiosk.tr.loans; font.bold: true }
        Body { visible: kiosk.state.account.loaded && kiosk.state.account.loans.length === 0; text: kiosk.tr.no_loans }
    }
    ListView {
        id: loans
        objectName: "loanList"
        anchors.top: top.bottom
        anchors.bottom: buttons.top
        anchors.margins: theme.values.spacing
        width: parent.width
        clip: true
        spacing: theme.values.spacing / 2
        model: kiosk.state.account.loans
        delegate: Rectangle {
            width: loans.width
            height: Math.max(theme.values.touch, info.implicitHeight) + theme.values.spacing * 2
            color: theme.values.colors.panel
            border.color: theme.values.colors.border
            border.width: theme.values.border
            radius: 6
            Column {
                id: info
                x: theme.values.spacing
                anchors.verticalCenter: parent.verticalCenter
                width: parent.width - renewButton.width - theme.values.spacing * 3
                Text { width: parent.width; text: modelData.title; font.pixelSize: theme.values.font; font.bold: true; color: theme.values.colors.text; elide: Text.ElideRight }
                Text { visible: text !== ""; text: modelData.due; font.pixelSize: theme.values.small; color: theme.values.colors.text }
                Text { visible: text !== ""; width: parent.width; text: modelData.text; wrapMode: Text.WordWrap; font.pixelSize: theme.values.small; color: modelData.ok ? theme.values.colors.ok : theme.values.colors.failed }
            }
            BigButton {
                id: renewButton
                objectName: "renew-" + modelData.item_id
                anchors.right: parent.right
                anchors.rightMargin: theme.values.spacing
                anchors.verticalCenter: parent.verticalCenter
                text: kiosk.tr.renew
                onClicked: kiosk.renew(modelData.item_id)
            }
        }
    }
    Flow {
        id: buttons
        anchors.bottom: parent.bottom
        width: parent.width
        spacing: theme.values.spacing * 2
        BigButton { objectName: "renewAll"; primary: true; text: kiosk.tr.renew_all; enabledButton: !kiosk.state.busy; onClicked: kiosk.renew("") }
        BigButton { objectName: "back"; text: kiosk.tr.back; onClicked: kiosk.toCheckout() }
        BigButton { objectName: "done"; text: kiosk.tr.done; onClicked: kiosk.finish() }
    }
}
