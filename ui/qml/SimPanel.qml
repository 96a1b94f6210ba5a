// The simulator panel (--sim-panel): tagged items, a patron card, a scanned code, the reader's plug.
// ILS faults are not reachable through the kiosk API; they belong to `muontra ils-sim`.
import QtQuick
import QtQuick.Window
import QtQuick.Controls

Window {
    id: panel
    title: kiosk.tr.sim_panel
    width: 520
    height: 560
    Column {
        anchors.fill: parent
        anchors.margins: 12
        spacing: 8
        Label { text: kiosk.tr.sim_panel; font.bold: true; font.pixelSize: 20 }
        Row {
            spacing: 6
            TextField { id: itemId; objectName: "simItem"; text: "B0001"; width: 140 }
            SpinBox { id: setSize; from: 1; to: 9; value: 1 }
            SpinBox { id: setIndex; from: 1; to: setSize.value; value: 1 }
        }
        Row {
            spacing: 6
            Button { text: kiosk.tr.sim_place; onClicked: sim.place(itemId.text, setSize.value, setIndex.value) }
            Button { text: kiosk.tr.sim_remove; onClicked: sim.remove(itemId.text, setSize.value, setIndex.value) }
            Button { text: kiosk.tr.sim_clear; onClicked: sim.clear() }
        }
        Flow {
            width: parent.width
            spacing: 6
            Repeater {
                model: ["B0001", "B0002", "B0003", "B0005", "B0007", "B0009", "B0010"]
                Button { text: modelData; onClicked: sim.place(modelData, 1, 1) }
            }
        }
        Row {
            spacing: 6
            TextField { id: cardText; text: "P0001"; width: 140 }
            Button { text: kiosk.tr.sim_card; onClicked: sim.card(cardText.text) }
            Button { text: kiosk.tr.sim_card_remove; onClicked: sim.cardRemove() }
            Button { text: kiosk.tr.sim_scan; onClicked: sim.scan(cardText.text) }
        }
        Row {
            spacing: 6
            Button { text: kiosk.tr.sim_unplug; onClicked: sim.unplug(true) }
            Button { text: kiosk.tr.sim_plug; onClicked: sim.unplug(false) }
        }
        Row {
            spacing: 6
            Button { text: kiosk.tr.sim_ils_down; onClicked: sim.ils(true) }
            Button { text: kiosk.tr.sim_ils_up; onClicked: sim.ils(false) }
        }
        Label { width: parent.width; wrapMode: Text.WordWrap; text: kiosk.tr.sim_ils_note }
        Label { id: last; width: parent.width; wrapMode: Text.WordWrap }
        Connections { target: sim; function onAnswered(text) { last.text = text } }
    }
}
