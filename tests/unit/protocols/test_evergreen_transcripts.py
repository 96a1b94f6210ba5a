"""Exact bytes captured from Evergreen's standalone SIPServer (atz/SIPServer, bundled test ILS).

See docs/interop-evergreen.md for how they were captured. Every answer ends
in "AZ0000": the server formats its hex checksum string as a number. Our
decoder must report that, keep everything else, and re-encode byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocols.sip2 import (
    ACSStatusResponse,
    CheckoutResponse,
    EndSessionResponse,
    PatronStatusFlag,
    PatronStatusResponse,
    RenewResponse,
    checksum,
    decode,
    encode,
)

FOLDER = Path(__file__).resolve().parents[2] / "fixtures" / "sip2" / "evergreen-sipserver"
EXCHANGES = sorted(p.name.removesuffix(".request.sip2") for p in FOLDER.glob("*.request.sip2"))
ANSWERED = [name for name in EXCHANGES if (FOLDER / f"{name}.response.sip2").exists()]


def response(name: str) -> bytes:
    return (FOLDER / f"{name}.response.sip2").read_bytes()


def test_the_transcripts_are_there() -> None:
    assert len(EXCHANGES) == 8 and len(ANSWERED) == 7


@pytest.mark.parametrize("name", ANSWERED)
def test_every_answer_decodes_echoes_the_sequence_and_has_the_zero_checksum(name: str) -> None:
    request = decode((FOLDER / f"{name}.request.sip2").read_bytes())
    raw = response(name)
    answer = decode(raw)
    assert request.checksum_ok is True
    assert answer.sequence == request.sequence
    assert raw.endswith(b"AZ0000\r")
    assert answer.checksum_ok is False  # the server's bug, reported, not hidden
    body = raw.rstrip(b"\r")[:-4]
    assert checksum(body) != "0000"
    # everything but the bogus checksum re-encodes exactly
    assert encode(answer, sequence=answer.sequence)[:-5] == raw[:-5]


def test_sc_status_policy_and_supported_messages() -> None:
    status = decode(response("02-sc-status"))
    assert isinstance(status, ACSStatusResponse)
    assert status.online_status is True and status.checkout_ok is False
    assert status.acs_renewal_policy is True and status.timeout_period == "600"
    assert status.supported_messages == "YYYYYYYYYNYNYYYY"  # no fee paid, no status update


def test_patron_status_fields_in_the_servers_own_order() -> None:
    good = decode(response("03-patron-status"))
    bad_pin = decode(response("04-patron-status-wrong-pin"))
    assert isinstance(good, PatronStatusResponse) and isinstance(bad_pin, PatronStatusResponse)
    assert [fid for fid, _ in good.fields] == ["AE", "AA", "BL", "CQ", "AO"]
    assert good.personal_name == "David J. Fiander"
    assert good.patron_status == frozenset({PatronStatusFlag.RECALL_PRIVILEGES_DENIED})
    assert good.valid_patron_password is True and bad_pin.valid_patron_password is False


def test_checkout_renew_and_end_session() -> None:
    out = decode(response("05-checkout"))
    assert isinstance(out, CheckoutResponse)
    assert out.ok and out.title == "The deep blue alibi" and out.media_type == "001"
    assert out.due_date == "20261208    225256"
    renew = decode(response("06-renew"))
    assert isinstance(renew, RenewResponse) and renew.ok and renew.renewal_ok
    assert renew.fields[-1] == ("AO", "UWOLS")  # AO last, unlike the spec's order
    end = decode(response("07-end-session"))
    assert isinstance(end, EndSessionResponse)
    assert end.screen_messages == ("Thank you for using Evergreen!",)
