"""The kiosk's detectors on their own: PIN guessing, cloned and forged tags, unknown items,
link refusals. Each event must also pass the fleet's closed schema (event_from_engine)."""

from __future__ import annotations

import logging
import ssl
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events import EventBus
from engine.ils.errors import IlsLoginError, IlsTlsUnverified
from engine.security.links import LinkWatch
from engine.security.pins import MAX_CARDS, PinWatch
from engine.security.reporter import MAX_SUBJECTS, SecurityReporter
from engine.security.tags import MAX_UNKNOWN_ITEMS, TagWatch, mismatch_detail
from engine.security.tls import tls_detail
from protocols.mqtt.payloads import decode_event, encode, event_from_engine
from protocols.mqtt.security_schema import Threat


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def security(bus: EventBus, threat: str | None = None) -> list[dict[str, Any]]:
    events = [e for e in bus.history() if e["event"] == "security"]
    return [e for e in events if threat is None or e["threat"] == threat]


def on_the_wire(event: dict[str, Any]) -> dict[str, Any]:
    """The event as central reads it; fails when a field breaks the closed schema."""
    mapped = event_from_engine(event, "kiosk-01", "VN-HN0001")
    assert mapped is not None, f"the fleet would drop {event}"
    suffix, message = mapped
    assert suffix == "events/security"
    return dict(decode_event(encode(message), "security").data)


def pins(cards: int = 3, window: float = 600) -> tuple[EventBus, Clock, PinWatch]:
    bus, clock = EventBus(), Clock()
    reporter = SecurityReporter(bus, window=60, clock=clock)
    return bus, clock, PinWatch(reporter, cards=cards, window=window, clock=clock)


# --- PINs ------------------------------------------------------------------------------------


def test_wrong_pins_on_different_cards_raise_pin_guessing() -> None:
    bus, clock, watch = pins(cards=3)
    watch.wrong_pin("ref-a")
    watch.wrong_pin("ref-b")
    assert security(bus, "pin_guessing") == []  # two cards: not yet
    clock.now += 10
    watch.wrong_pin("ref-c")
    [guessing] = security(bus, "pin_guessing")
    assert guessing["severity"] == "critical"
    assert guessing["cards"] == 3 and guessing["count"] == 3
    wire = on_the_wire(guessing)
    assert wire["threat"] == "pin_guessing" and wire["cards"] == 3


def test_every_wrong_pin_is_reported_per_card_with_its_patron_ref() -> None:
    bus, _, watch = pins()
    watch.wrong_pin("ref-a")
    watch.wrong_pin("ref-b")
    wrong = security(bus, "pin_wrong")
    assert [e["patron_ref"] for e in wrong] == ["ref-a", "ref-b"]
    assert all(e["severity"] == "info" for e in wrong)
    assert on_the_wire(wrong[0])["patron_ref"] == "ref-a"


def test_a_replayed_burst_on_one_card_is_one_event_and_no_guessing() -> None:
    bus, clock, watch = pins(cards=3)
    for _ in range(500):
        watch.wrong_pin("ref-a")
        clock.now += 0.01
    assert security(bus, "pin_guessing") == []
    [wrong] = security(bus, "pin_wrong")  # rate-limited: the count grows, not the events
    assert watch.reporter.seen(Threat.PIN_WRONG, ("card", "ref-a")) == 500
    assert wrong["count"] == 1


def test_cards_older_than_the_window_do_not_count() -> None:
    bus, clock, watch = pins(cards=3, window=100)
    watch.wrong_pin("ref-a")
    watch.wrong_pin("ref-b")
    clock.now += 100  # a and b are out of the window now
    watch.wrong_pin("ref-c")
    watch.wrong_pin("ref-d")
    assert security(bus, "pin_guessing") == []
    assert watch.cards_seen() == 2


def test_a_thousand_fake_cards_do_not_grow_memory_without_bound() -> None:
    guessing: list[dict[str, Any]] = []

    class Bus(EventBus):
        def publish(self, name: str, /, **data: Any) -> dict[str, Any]:
            if data.get("threat") == "pin_guessing":
                guessing.append(data)
            return super().publish(name, **data)

    bus, clock = Bus(), Clock()
    watch = PinWatch(
        SecurityReporter(bus, window=60, clock=clock), cards=5, window=600, clock=clock
    )

    def fake_cards(first: int, count: int) -> None:
        for n in range(first, first + count):
            watch.wrong_pin(f"fake-{n}")
            clock.now += 0.001

    fake_cards(0, 6000)  # past every cap: the detector's cards, the reporter's subjects
    assert watch.cards_seen() == MAX_CARDS
    assert len(watch.reporter._seen) <= MAX_SUBJECTS
    ours = ("engine/security/", "engine/events.py")
    logging.disable(logging.CRITICAL)  # pytest keeps every log record; they are not ours
    tracemalloc.start()
    try:
        fake_cards(6000, 10000)  # traced from here on: replaces what came before
        before = tracemalloc.take_snapshot()
        fake_cards(16000, 10000)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        logging.disable(logging.NOTSET)
    grown = sum(
        stat.size_diff
        for stat in after.compare_to(before, "filename")
        if any(part in stat.traceback[0].filename for part in ours)
    )
    # 10,000 more cards once the caps are full: kept without limit they would take over
    # 3 MB; replaced, what changes is a table resized now and then.
    assert grown < 1_000_000, grown
    assert watch.cards_seen() == MAX_CARDS
    # 26,000 cards in 26 s: one pin_guessing event, however many subjects pushed through.
    assert len(guessing) == 1 and guessing[0]["cards"] == 5


# --- tags ------------------------------------------------------------------------------------


def tags(**changes: Any) -> tuple[EventBus, Clock, TagWatch]:
    bus, clock = EventBus(), Clock()
    values: dict[str, Any] = {"remembered": 100, "repeats": 3, "window": 3600} | changes
    watch = TagWatch(SecurityReporter(bus, window=60, clock=clock), clock=clock, **values)
    return bus, clock, watch


def test_one_item_id_on_two_uids_is_a_cloned_tag() -> None:
    bus, _, watch = tags()
    watch.seen("B0001", 1, bytes.fromhex("E004010000000001"))
    watch.seen("B0001", 1, bytes.fromhex("E004010000000001"))  # the same tag again: fine
    assert security(bus) == []
    watch.seen("B0001", 1, bytes.fromhex("E0040100000000FF"))
    [cloned] = security(bus, "cloned_tag")
    assert cloned["severity"] == "critical"
    assert (cloned["item_id"], cloned["uid"], cloned["other_uid"]) == (
        "B0001",
        "E0040100000000FF",
        "E004010000000001",
    )
    assert on_the_wire(cloned)["other_uid"] == "E004010000000001"


def test_parts_of_a_set_and_other_libraries_items_are_not_clones() -> None:
    bus, _, watch = tags()
    watch.seen("B0006", 1, b"\x01" * 8)
    watch.seen("B0006", 2, b"\x02" * 8)  # the set's CD: same item id, its own part
    watch.seen("B0006", 1, b"\x03" * 8, "DK718500")  # another library's B0006
    assert security(bus) == []


def test_item_ids_remembered_are_bounded() -> None:
    bus, _, watch = tags(remembered=100)
    for n in range(5000):
        watch.seen(f"X{n}", 1, n.to_bytes(8, "big"))
    assert len(watch._uids) == 100
    watch.seen("X4999", 1, b"\xff" * 8)  # still remembered: the newest
    assert len(security(bus, "cloned_tag")) == 1
    watch.seen("X0", 1, b"\xff" * 8)  # forgotten long ago
    assert len(security(bus, "cloned_tag")) == 1


def test_an_unknown_item_laid_again_and_again_is_reported() -> None:
    bus, clock, watch = tags(repeats=3, window=3600)
    watch.unknown_item("FAKE1")
    watch.unknown_item("FAKE1")
    assert security(bus) == []
    clock.now += 60
    watch.unknown_item("FAKE1")
    [repeated] = security(bus, "unknown_item_repeated")
    assert repeated["item_id"] == "FAKE1" and repeated["count"] == 3
    assert repeated["severity"] == "warning"
    on_the_wire(repeated)


def test_unknown_items_spread_over_more_than_the_window_are_not() -> None:
    bus, clock, watch = tags(repeats=3, window=100)
    for _ in range(5):
        watch.unknown_item("FAKE1")
        clock.now += 60
    assert security(bus) == []


def test_a_flood_of_unknown_item_ids_is_bounded() -> None:
    _, _, watch = tags()
    for n in range(20000):
        watch.unknown_item(f"FAKE{n}")
    assert len(watch._unknown) <= MAX_UNKNOWN_ITEMS


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        ("blank tag (every byte 0x00)", None),
        ("blank 3M tag (manufacturing pattern 0x55)", None),
        (
            "unknown data model: not ISO 28560-3, the Danish model, ISO 28560-2 or 3M RFID501",
            "unknown_model",
        ),
        ("ISO 28560-2: length byte missing", "corrupt_data"),
    ],
)
def test_undecodable_tags_are_told_apart_from_blank_ones(error: str, detail: str | None) -> None:
    assert mismatch_detail(error) == detail
    bus, _, watch = tags()
    watch.undecodable(b"\x07" * 8, error)
    events = security(bus, "tag_data_mismatch")
    assert [e["detail"] for e in events] == ([detail] if detail else [])
    for event in events:
        assert on_the_wire(event)["uid"] == "0707070707070707"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_decoder_message_gives_a_code_the_schema_takes(error: str) -> None:
    bus, _, watch = tags()
    watch.undecodable(b"\x01" * 8, error)
    for event in security(bus):
        on_the_wire(event)


# --- links -----------------------------------------------------------------------------------


def links(failures: int = 3) -> tuple[EventBus, Clock, LinkWatch]:
    bus, clock = EventBus(), Clock()
    return (
        bus,
        clock,
        LinkWatch(SecurityReporter(bus, window=60, clock=clock), mqtt_failures=failures),
    )


def test_a_refused_sip2_login_is_reported() -> None:
    bus, _, watch = links()
    watch.ils_refused(IlsLoginError("the ILS refused the SIP2 login of user 'kiosk'"))
    [refused] = security(bus, "sip2_login_refused")
    assert refused["severity"] == "warning"
    assert "kiosk" not in str(on_the_wire(refused))  # the login name stays on the device


def test_an_unverified_ils_certificate_is_reported_with_its_reason() -> None:
    bus, _, watch = links()
    watch.ils_refused(IlsTlsUnverified("…did not verify", tls_detail(18)))
    [tls] = security(bus, "tls_unverified")
    assert (tls["part"], tls["detail"], tls["severity"]) == ("ils", "self_signed", "critical")
    on_the_wire(tls)


def test_mqtt_login_failures_are_reported_once_repeated() -> None:
    bus, clock, watch = links(failures=3)
    watch.mqtt("login_refused")
    watch.mqtt("login_refused")
    assert security(bus) == []
    watch.mqtt("login_refused")
    [failed] = security(bus, "mqtt_login_failed")
    assert failed["count"] == 3
    watch.mqtt("connected")
    watch.mqtt("login_refused")
    clock.now += 120
    watch.mqtt("login_refused")
    assert len(security(bus, "mqtt_login_failed")) == 1  # counted afresh after a success
    on_the_wire(failed)


def test_an_unverified_broker_certificate_is_reported() -> None:
    bus, _, watch = links()
    watch.mqtt("tls_unverified", "hostname_mismatch")
    [tls] = security(bus, "tls_unverified")
    assert (tls["part"], tls["detail"]) == ("broker", "hostname_mismatch")
    on_the_wire(tls)


def test_tls_detail_codes() -> None:
    assert tls_detail(10) == "expired"
    assert tls_detail(62) == "hostname_mismatch"
    assert tls_detail(None) == "not_verified"
    assert tls_detail(999) == "not_verified"
    assert issubclass(ssl.SSLCertVerificationError, OSError)  # paho's except catches it
