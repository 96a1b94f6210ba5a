// The patron's screen: drop items one at a time; the newest, large, says "Returned" or why not.
import QtQuick

Item {
    id: screen
    objectName: "screen-drop"
    readonly property var latest: sorter.rows.length > 0 ? sorter.rows[0] : null
    readonly property color latestColor: latest === null ? theme.values.colors.text
        : latest.state === "ok" ? theme.values.colors.ok
        : latest.state === "failed" ? theme.values.colors.failed
        : theme.values.colors.attention

    Row {
        id: top
        width: parent.width
        spacing: theme.values.spacing
        Heading {
            width: parent.width - langs.width - parent.spacing
            text: sorter.tr.sorter_title
            anchors.verticalCenter: parent.verticalCenter
        }
        Row {
            id: langs
            spacing: theme.values.spacing
            BigButton { objectName: "lang-vi"; text: "Tiếng Việt"; primary: sorter.state.language === "vi"; onClicked: sorter.chooseLanguage("vi") }
            BigButton { objectName: "lang-en"; text: "English"; primary: sorter.state.language === "en"; onClicked: sorter.chooseLanguage("en") }
        }
    }

    // The item just read: as large as the screen allows, the first thing a patron sees.
    Rectangle {
        id: latestBox
        objectName: "latest"
        anchors.top: top.bottom
        anchors.topMargin: theme.values.spacing
        width: parent.width
        height: latestColumn.implicitHeight + theme.values.spacing * 2
        radius: theme.values.spacing
        color: theme.values.colors.panel
        border.color: screen.latestColor
        border.width: Math.max(3, theme.values.border * 3)
        Column {
            id: latestColumn
            x: theme.values.spacing * 1.5
            y: theme.values.spacing
            width: parent.width - theme.values.spacing * 3
            spacing: theme.values.spacing / 2
            Text {
                objectName: "latestText"
                width: parent.width
                text: screen.latest === null ? sorter.tr.sorter_hint : screen.latest.text
                font.pixelSize: theme.values.title * 1.25
                font.bold: true
                color: screen.latestColor
                wrapMode: Text.WordWrap
            }
            Text {
                width: parent.width
                text: screen.latest === null ? sorter.tr.sorter_waiting : screen.latest.title
                font.pixelSize: theme.values.font * 1.2
                color: theme.values.colors.text
                elide: Text.ElideRight
            }
            Text {
                objectName: "latestDetail"
                visible: screen.latest !== null && screen.latest.detail !== ""
                width: parent.width
                text: screen.latest === null ? "" : screen.latest.detail
                font.pixelSize: theme.values.font
                color: theme.values.colors.muted
                wrapMode: Text.WordWrap
            }
        }
    }

    SorterSlotPicture {
        visible: screen.latest === null
        anchors.top: latestBox.bottom
        anchors.topMargin: theme.values.spacing
        anchors.bottom: bottomRow.top
        width: parent.width
    }

    ItemList {
        anchors.top: latestBox.bottom
        anchors.topMargin: theme.values.spacing
        anchors.bottom: bottomRow.top
        anchors.bottomMargin: theme.values.spacing
        width: parent.width
        model: sorter.rows.slice(1)
    }

    Row {
        id: bottomRow
        anchors.bottom: parent.bottom
        width: parent.width
        spacing: theme.values.spacing
        Column {
            width: parent.width - buttons.width - parent.spacing
            anchors.verticalCenter: parent.verticalCenter
            Body { text: sorter.state.count; font.bold: true }
            Body { visible: text !== ""; text: sorter.state.to_staff; color: theme.values.colors.failed }
        }
        Row {
            id: buttons
            spacing: theme.values.spacing
            BigButton { objectName: "receipt"; visible: sorter.state.has_items && sorter.state.receipts.length > 0; text: sorter.tr.sorter_receipt; onClicked: sorter.finish(true) }
            BigButton { objectName: "done"; visible: sorter.state.has_items; primary: true; text: sorter.tr.sorter_done; onClicked: sorter.finish(false) }
            BigButton { objectName: "staffDoor"; visible: !sorter.state.has_items; text: sorter.tr.staff; onClicked: sorter.staffOpen() }
        }
    }

    // The patron walked away without saying so: end the drop after a minute of quiet.
    // Every change (an item read, a touch) starts the minute again.
    Timer { id: dropTimer; interval: 60000; running: sorter.state.has_items; onTriggered: sorter.dropTimeout() }
    Connections {
        target: sorter
        function onChanged() { if (sorter.state.has_items) dropTimer.restart() }
    }
}
