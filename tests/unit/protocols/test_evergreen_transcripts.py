"""Exact bytes captured from Evergreen's standalone SIPServer (atz/SIPServer, bundled test ILS).

See docs/interop-evergreen.md for how they were captured. Every answer ends
in "AZ0000": the server formats its hex checksum string as a number. Our
decoder must report that, keep everything else, and re-encode byte for byte.
Exchanges 09 and 10 are the return machine's checkins, as the sorter sent them
(tests/integration/test_evergreen_sipserver_sorter.py), to the test ILS
completed by scripts/interop/evergreen-test-ils-compat.pm.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocols.sip2 import (
    ACSStatusResponse,
    CheckinRequest,
    CheckinResponse,
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
    assert len(EXCHANGES) == 10 and len(ANSWERED) == 9


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


def test_the_sorters_checkin_and_evergreens_answer_without_a_sort_bin() -> None:
    request = decode((FOLDER / "09-sorter-checkin.request.sip2").read_bytes())
    assert isinstance(request, CheckinRequest)
    assert request.item_id == "1565921879" and request.no_block is False
    assert request.institution_id == "UWOLS"
    returned = decode(response("09-sorter-checkin"))
    assert isinstance(returned, CheckinResponse)
    assert returned.ok and returned.resensitize and not returned.alert
    assert returned.magnetic_media is False
    # The server's own order; no CL, no CT, no CV: nothing for the sort but AQ (empty) and CK.
    assert [fid for fid, _ in returned.fields] == ["AO", "AB", "AQ", "AJ", "AA", "CK"]
    assert returned.sort_bin is None and returned.destination_location is None
    assert returned.alert_type is None and returned.screen_message == ()
    assert returned.permanent_location == "" and returned.media_type == "001"
    assert returned.title == "Perl 5 desktop reference"
    assert returned.patron_id == "djfiander"  # who had it: the sorter must not keep or tell it


def test_a_checkin_of_an_item_not_on_loan_is_refused_without_a_message() -> None:
    refused = decode(response("10-sorter-checkin-not-on-loan"))
    assert isinstance(refused, CheckinResponse)
    assert not refused.ok and not refused.alert
    assert refused.item_id == "0440242746" and refused.title == "The deep blue alibi"
    assert refused.patron_id is None and refused.sort_bin is None
    assert refused.screen_message == ()  # nothing says why: the test ILS tells no reason
