"""The site's [receipts] switches at the kiosk: a way switched off is not offered on the
summary, and asking for it anyway (a stale screen, a hostile API client) is refused with a
reason in both languages before anything is printed or sent; the session stays open for
the patron to choose another way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.api import CommandFailed
from tests.engine.harness import Kiosk, ils_simulator, write_config


def kiosk_with(tmp_path: Path, port: int, receipts: str) -> Kiosk:
    path = write_config(tmp_path, port, extra=f"\n[receipts]\n{receipts}\n")
    text = path.read_text()
    # Paper into a file, so that "nothing was printed" can be checked.
    dummy = 'printer = "escpos+dummy://"'
    assert text.count(dummy) == 1
    path.write_text(text.replace(dummy, f'printer = "escpos+file://{tmp_path / "paper.bin"}"'))
    (tmp_path / "paper.bin").touch()
    return Kiosk(path)


@pytest.fixture
def ils_port(tmp_path: Path) -> Iterator[int]:
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        yield sim.port


def borrow_one(kiosk: Kiosk) -> dict[str, object]:
    kiosk.call("identify", method="typed", value="P0001")
    kiosk.call("pin", pin="1234")
    kiosk.call("sim_place", item_id="B0001")
    kiosk.event("item", outcome="checked_out", item_id="B0001")
    summary: dict[str, object] = kiosk.call("done")
    return summary


def refused(kiosk: Kiosk, method: str) -> dict[str, str]:
    with pytest.raises(CommandFailed) as refusal:
        kiosk.call("receipt", method=method)
    error: dict[str, str] = refusal.value.error
    return error


def test_paper_switched_off_is_not_offered_and_not_printed(tmp_path: Path, ils_port: int) -> None:
    kiosk = kiosk_with(tmp_path, ils_port, "print = false")
    try:
        summary = borrow_one(kiosk)
        assert (summary["print_available"], summary["qr_available"]) == (False, True)
        error = refused(kiosk, "print")
        assert error["code"] == "receipt_not_offered"
        assert error["vi"].startswith("Máy này không có cách nhận biên lai đó")
        assert error["en"].startswith("This machine does not offer that kind of receipt")
        assert (tmp_path / "paper.bin").read_bytes() == b""
        # The session is still there: the patron takes the QR code instead.
        assert kiosk.call("receipt", method="qr")["method"] == "qr"
    finally:
        kiosk.close()


def test_paper_on_prints(tmp_path: Path, ils_port: int) -> None:
    """The same kiosk with the switch on prints: the refusal above is the switch's doing."""
    kiosk = kiosk_with(tmp_path, ils_port, "print = true")
    try:
        assert borrow_one(kiosk)["print_available"] is True
        assert kiosk.call("receipt", method="print") == {"method": "print", "delivered": True}
        assert (tmp_path / "paper.bin").read_bytes() != b""
    finally:
        kiosk.close()


def test_qr_and_email_switched_off_and_unknown_ways_are_refused(
    tmp_path: Path, ils_port: int
) -> None:
    # E-mail off (the default) although the patron has an address in the ILS; QR off.
    kiosk = kiosk_with(tmp_path, ils_port, "qr = false")
    try:
        summary = borrow_one(kiosk)
        assert (summary["email_available"], summary["qr_available"]) == (False, False)
        for method in ("qr", "email", "fax"):
            assert refused(kiosk, method)["code"] == "receipt_not_offered", method
        assert kiosk.call("receipt", method="none") == {"method": "none", "delivered": False}
    finally:
        kiosk.close()
