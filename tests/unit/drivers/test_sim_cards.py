"""The in-process simulators for patron identification: ``card+sim://`` and ``barcode+sim://``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from drivers.barcode import SimBarcodeScanner, SimScanner
from drivers.interfaces import (
    BarcodeScanner,
    CardEvent,
    DeviceState,
    DeviceUnavailable,
    PatronCardReader,
)
from drivers.nfc_card import SimCardReader, SimCardSlot, card_ref, ndef_text, technology_of
from drivers.registry import open_device

UID = bytes.fromhex("04A1B2C3D4E5F6")
OTHER = bytes.fromhex("04112233445566")


@pytest.fixture
def name() -> Iterator[str]:
    """A fresh simulator name per test, forgotten afterwards (the registries are process-wide)."""
    unique = f"t-{uuid.uuid4().hex[:8]}"
    yield unique
    SimCardSlot.forget(unique)
    SimScanner.forget(unique)


@pytest.fixture
def reader(name: str) -> Iterator[SimCardReader]:
    device = open_device(f"card+sim://{name}")
    assert isinstance(device, SimCardReader)
    device.open()
    yield device
    device.close()


# --- card+sim ---------------------------------------------------------------------------


def test_is_a_patron_card_reader(reader: SimCardReader) -> None:
    assert isinstance(reader, PatronCardReader)
    assert reader.state is DeviceState.READY


def test_present_then_remove(reader: SimCardReader) -> None:
    assert reader.poll(timeout=0) is None
    reader.present(UID, text="P0001")
    assert reader.poll(timeout=5) == CardEvent(True, UID, "ISO 14443-A", "P0001")
    reader.remove()
    assert reader.poll(timeout=5) == CardEvent(False, UID, "ISO 14443-A", "P0001")
    assert reader.poll(timeout=0) is None


def test_uid_as_hex_and_technology(reader: SimCardReader) -> None:
    reader.present("04a1b2c3d4e5f6", technology="FeliCa")
    event = reader.poll(timeout=5)
    assert event is not None
    assert (event.uid, event.technology, event.text) == (UID, "FeliCa", None)


def test_same_card_again_is_no_event_another_card_swaps(reader: SimCardReader) -> None:
    reader.present(UID)
    reader.present(UID)
    reader.present(OTHER)
    events = [reader.poll(timeout=5) for _ in range(3)]
    assert [(e.present, e.uid) for e in events if e] == [(True, UID), (False, UID), (True, OTHER)]
    assert reader.poll(timeout=0) is None


def test_remove_without_card_is_harmless(reader: SimCardReader) -> None:
    reader.remove()
    assert reader.poll(timeout=0) is None


def test_readers_on_one_name_share_the_slot(name: str, reader: SimCardReader) -> None:
    panel = SimCardReader(f"card+sim://{name}")  # what a test or the simulator panel holds
    engine_two = SimCardReader(f"card+sim://{name}")
    engine_two.open()
    panel.present(UID, "P0002")
    for device in (reader, engine_two):
        event = device.poll(timeout=5)
        assert event is not None and event.text == "P0002"
    engine_two.close()
    assert SimCardReader(f"card+sim://other-{name}").slot is not reader.slot
    SimCardSlot.forget(f"other-{name}")


def test_reader_opened_late_sees_the_card_already_lying_there(name: str) -> None:
    SimCardSlot.named(name).present(UID, "P0003")
    late = SimCardReader(f"card+sim://{name}")
    event = late.poll(timeout=5)  # opens itself on first use
    assert event == CardEvent(True, UID, "ISO 14443-A", "P0003")
    late.close()


def test_closed_reader_hears_nothing(name: str, reader: SimCardReader) -> None:
    reader.close()
    reader.present(UID)
    assert reader.state is DeviceState.CLOSED
    reader.open()  # reopened while the card lies there: one present event, not a backlog
    assert [reader.poll(timeout=0.1), reader.poll(timeout=0)] == [
        CardEvent(True, UID, "ISO 14443-A", None),
        None,
    ]


def test_card_in_the_url_of_a_new_slot(name: str) -> None:
    device = SimCardReader(f"card+sim://{name}?uid=04A1B2C3D4E5F6&text=P0004")
    event = device.poll(timeout=5)
    assert event is not None and (event.uid, event.text) == (UID, "P0004")
    device.close()


def test_poll_waits_for_a_card_from_another_thread(reader: SimCardReader) -> None:
    timer = threading.Timer(0.05, reader.present, args=(UID,))
    timer.start()
    try:
        event = reader.poll(timeout=5)
    finally:
        timer.cancel()
    assert event is not None and event.present


def test_unplugged_reader_fails_then_reports_the_card_again(reader: SimCardReader) -> None:
    reader.present(UID, "P0005")
    assert reader.poll(timeout=5) is not None
    reader.unplug()
    gone = reader.poll(timeout=5)  # the card is lost with the reader, as NfcCardReader says
    assert gone is not None and gone.present is False
    with pytest.raises(DeviceUnavailable):
        reader.poll(timeout=0.05)
    assert reader.state is DeviceState.UNAVAILABLE
    with pytest.raises(DeviceUnavailable):
        SimCardReader(reader.url).open()

    reader.plug_in()
    back = reader.poll(timeout=5)
    assert back == CardEvent(True, UID, "ISO 14443-A", "P0005")
    assert reader.state is DeviceState.READY


def test_log_reference_hides_the_uid() -> None:
    ref = card_ref(UID)
    assert len(ref) == 8 and UID.hex() not in ref and ref == card_ref(UID)


def test_technology_names() -> None:
    assert [technology_of(b) for b in ("106A", "106B", "212F", "424F")] == [
        "ISO 14443-A",
        "ISO 14443-B",
        "FeliCa",
        "FeliCa",
    ]


def test_ndef_text_takes_the_first_text_or_uri_record() -> None:
    ndef = pytest.importorskip("ndef")
    records = [ndef.Record("urn:nfc:wkt:X", "", b""), ndef.UriRecord("https://lib.example/p/7")]
    assert ndef_text(records) == "https://lib.example/p/7"
    assert ndef_text([ndef.TextRecord("P0006"), *records]) == "P0006"
    assert ndef_text([]) is None


# --- barcode+sim ------------------------------------------------------------------------


def test_sim_scanner_reads_scans_in_order(name: str) -> None:
    scanner = open_device(f"barcode+sim://{name}")
    assert isinstance(scanner, SimBarcodeScanner)
    assert isinstance(scanner, BarcodeScanner)
    scanner.open()
    assert scanner.state is DeviceState.READY
    assert scanner.read(timeout=0) is None
    scanner.scan("9780306406157")
    scanner.scan("")  # nothing scanned
    scanner.scan("P0007")
    assert [scanner.read(timeout=5), scanner.read(timeout=5)] == ["9780306406157", "P0007"]
    assert scanner.read(timeout=0.05) is None
    scanner.close()
    assert scanner.state is DeviceState.CLOSED


def test_sim_scanners_on_one_name_share_one_queue(name: str) -> None:
    engine = SimBarcodeScanner(f"barcode+sim://{name}")
    panel = SimBarcodeScanner(f"barcode+sim://{name}")
    panel.scan("B0001")
    assert engine.read(timeout=5) == "B0001"
    assert panel.read(timeout=0) is None  # typed once, read once


def test_sim_scanner_unplugged(name: str) -> None:
    scanner = SimBarcodeScanner(f"barcode+sim://{name}")
    scanner.sim.unplugged = True
    scanner.scan("LOST")
    with pytest.raises(DeviceUnavailable):
        scanner.open()
    with pytest.raises(DeviceUnavailable):
        scanner.read(timeout=0.05)
    assert scanner.state is DeviceState.UNAVAILABLE
    scanner.sim.unplugged = False
    scanner.scan("FOUND")
    assert scanner.read(timeout=5) == "FOUND"
    assert scanner.state is DeviceState.READY
