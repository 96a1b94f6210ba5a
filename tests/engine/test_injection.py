"""Identifiers from devices cannot forge SIP2: the reported attacks, replayed against the engine.

The engine runs on simulators with the ILS simulator over TCP. A kiosk of
2026-12 sent an NFC card's text into SIP2 as it was: `P0001\\rX` with a wrong
PIN opened P0001's session, a card carrying a whole 09 checkin closed another
loan in the ILS, and `P0001|XZ0` … `|XZ6` gave six wrong PINs without lockout.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ilssim.circulation import Circulation
from ilssim.models import Item, Loan
from ilssim.seed import seed
from ilssim.server import Session, SimServerThread
from ilssim.sip2_mapping import SipMapping
from ilssim.store import Store
from kiosk.api import CommandFailed
from protocols.sip2 import Message, checksum
from tests.engine.harness import Kiosk, write_config


def refused(kiosk: Kiosk, command: str, **args: Any) -> str:
    """The error code of a command the engine must refuse."""
    with pytest.raises(CommandFailed) as failed:
        kiosk.call(command, **args)
    return str(failed.value.error["code"])


def on_loan(store: Store, item: str) -> bool:
    with store.read() as session:
        loans = session.scalars(
            select(Loan).join(Item).where(Item.barcode == item, Loan.returned_at.is_(None))
        )
        return any(True for _ in loans)


def forged(body: str, sequence: int) -> str:
    data = f"{body}AY{sequence}AZ"
    return data + checksum(data.encode())


def card_read(kiosk: Kiosk) -> dict[str, Any]:
    """The engine's answer to the card just presented: refused, or a PIN asked for."""
    wanted = ("identify_failed", "pin_needed")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # Events that came in while a command was answered are kept in ``events``.
        for event in kiosk.client.events:
            if event["event"] in wanted:
                kiosk.client.events.remove(event)
                return event
        kiosk.client.next_event(deadline - time.monotonic())
    raise AssertionError("the engine never answered the card")


def attempt(kiosk: Kiosk, command: str, **args: Any) -> None:
    """What the attacker does next; refused or not, the test looks at the outcome."""
    with contextlib.suppress(CommandFailed):
        kiosk.call(command, **args)


def test_nfc_text_with_a_cr_does_not_open_the_patrons_session_on_a_wrong_pin(
    kiosk: Kiosk,
) -> None:
    kiosk.call("sim_card", text="P0001\rX")
    answer = card_read(kiosk)
    attempt(kiosk, "pin", pin="0000")
    assert kiosk.call("status")["session"] is None  # the reported attack opened it
    assert answer["event"] == "identify_failed"
    assert answer["message"]["code"] == "patron_id_invalid"
    assert answer["message"]["en"] and answer["message"]["vi"]
    assert "P0001" not in str(answer)
    assert refused(kiosk, "pin", pin="0000") == "patron_unknown"


def test_card_text_carrying_a_whole_checkin_checks_nothing_in(
    kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    store = ils[1]
    assert on_loan(store, "B0010")  # P0001's loan
    checkin = forged("09N20261202    10150020261202    101500APTT|AOMUONTRA|ABB0010|AC|", 5)
    kiosk.call("sim_card", text=f"P0001\r{checkin}\rX")
    answer = card_read(kiosk)
    attempt(kiosk, "pin", pin="0000")
    # Anything the ILS was sent on the kiosk's connections has been answered once a
    # request on each of them has (one request at a time per connection).
    for _ in range(3):
        with contextlib.suppress(Exception):  # a kiosk of today reads the forged answer here
            kiosk.engine.ils.sc_status()
    assert on_loan(store, "B0010")  # the reported attack checked it in
    assert answer["event"] == "identify_failed"
    assert answer["message"]["code"] == "patron_id_invalid"


def test_a_qr_code_or_barcode_with_a_cr_is_refused(kiosk: Kiosk) -> None:
    kiosk.call("sim_scan", code="muontra:patron:P0001\rX")
    assert kiosk.event("identify_failed")["message"]["code"] == "patron_id_invalid"
    kiosk.call("sim_scan", code="P0001\x1b[2J")
    assert kiosk.event("identify_failed")["message"]["code"] == "patron_id_invalid"
    assert kiosk.call("status")["session"] is None


def test_field_stuffed_ids_are_refused_and_the_lockout_counts_per_patron(kiosk: Kiosk) -> None:
    for n in range(7):
        assert refused(kiosk, "identify", method="typed", value=f"P0001|XZ{n}") == (
            "patron_id_invalid"
        )
    kiosk.call("identify", method="typed", value="P0001")
    assert refused(kiosk, "pin", pin="0000") == "wrong_pin"
    assert refused(kiosk, "pin", pin="0000") == "wrong_pin"
    assert refused(kiosk, "pin", pin="0000") == "pin_locked"
    # The same patron spelt otherwise gets no fresh attempts.
    for spelling in ("P0001", " P0001\t", "p0001"):
        assert refused(kiosk, "identify", method="typed", value=spelling) == "pin_locked"
    # Another patron is not locked by it.
    assert kiosk.call("identify", method="typed", value="P0003")["need_pin"] is True


def test_a_pin_with_a_separator_is_refused_before_the_ils(kiosk: Kiosk) -> None:
    kiosk.call("identify", method="typed", value="P0001")
    assert refused(kiosk, "pin", pin="0000|AD1234") == "pin_invalid"
    assert refused(kiosk, "pin", pin="12\r34") == "pin_invalid"
    assert kiosk.call("pin", pin="1234")["verified"] is True


def test_a_tag_whose_item_id_carries_a_separator_is_not_checked_out(
    kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    kiosk.call("identify", method="typed", value="P0001")
    kiosk.call("pin", pin="1234")
    kiosk.call("sim_place", item_id="B0001|AAP0003")
    event = kiosk.event("item", outcome="item_id_invalid")
    assert event["message"]["en"] and "item_id" not in event
    kiosk.call("sim_place", item_id="B0002")
    kiosk.event("item", outcome="checked_out", item_id="B0002")
    assert not on_loan(ils[1], "B0001")
    assert refused(kiosk, "renew", item_id="B0010\rX") == "item_id_invalid"


# --- an ILS that knows a patron by two identifiers -----------------------------------------


class TwoIdentifiers(SipMapping):
    """The simulator, also accepting a second card number for P0001 and answering AA P0001
    (as Koha does for a patron's user id and card number)."""

    def __call__(self, request: Message, session: Session) -> Message | None:
        if request.get("AA") == "CARD0001":
            request = request.with_fields(("AA", "P0001"), drop=["AA"])
        return super().__call__(request, session)


@pytest.fixture
def kiosk_two_ids(tmp_path: Path) -> Iterator[Kiosk]:
    store = Store.open(tmp_path / "ils.sqlite")
    seed(store, 0)
    try:
        with SimServerThread(TwoIdentifiers(Circulation(store))) as sim:
            k = Kiosk(write_config(tmp_path, sim.port))
            yield k
            k.close()
    finally:
        store.close()


def test_wrong_pins_count_against_the_patron_the_ils_answered(kiosk_two_ids: Kiosk) -> None:
    kiosk = kiosk_two_ids
    kiosk.call("identify", method="typed", value="P0001")
    assert refused(kiosk, "pin", pin="0000") == "wrong_pin"
    assert refused(kiosk, "pin", pin="0000") == "wrong_pin"
    kiosk.call("identify", method="nfc", value="CARD0001")
    assert refused(kiosk, "pin", pin="0000") == "pin_locked"  # the third for P0001
    # Locked through either identifier, even with the right PIN.
    kiosk.call("identify", method="nfc", value="CARD0001")
    assert refused(kiosk, "pin", pin="1234") == "pin_locked"
    assert refused(kiosk, "identify", method="typed", value="P0001") == "pin_locked"


def test_a_loan_id_from_the_ils_with_a_control_character_is_not_sent_back(
    kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk.call("identify", method="typed", value="P0001")
    kiosk.call("pin", pin="1234")
    ils = kiosk.engine.ils
    real = ils.patron_information

    def with_a_hostile_loan(*args: Any, **kwargs: Any) -> Any:
        # What a broken or hostile ILS could list: decode keeps it, as it must.
        return real(*args, **kwargs).with_fields(("AU", "B0013\x1b[2J"))

    monkeypatch.setattr(ils, "patron_information", with_a_hostile_loan)
    results = kiosk.call("renew")["results"]
    assert sorted(r["item_id"] for r in results) == ["B0010", "B0013"]
    assert {r["outcome"] for r in results} <= {"renewed", "renew_refused"}
    states = {t["state"] for t in kiosk.call("journal")["transactions"]}
    assert states <= {"done", "refused"}  # nothing left open by a failed send
