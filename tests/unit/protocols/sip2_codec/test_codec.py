"""The SIP2 codec: exact bytes of every message type, the tolerances real ILSs need."""

from __future__ import annotations

import unicodedata
from datetime import datetime

import pysip2
import pytest

from protocols.sip2 import (
    REGISTRY,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    LoginRequest,
    PatronInformationResponse,
    PatronStatusFlag,
    PatronStatusResponse,
    SIP2Error,
    checksum,
    decode,
    encode,
)
from tests.unit.protocols.sip2_codec.fixtures import EVERY_MESSAGE, FAMOUS_BAD_LOGIN


def test_fixtures_cover_every_message_type() -> None:
    assert set(EVERY_MESSAGE) == set(REGISTRY)


@pytest.mark.parametrize("command", sorted(EVERY_MESSAGE))
def test_every_message_decodes_and_encodes_back_byte_for_byte(command: str) -> None:
    raw = EVERY_MESSAGE[command]
    message = decode(raw)
    assert type(message) is REGISTRY[command]
    assert message.command == command
    assert message.checksum_ok is True
    assert encode(message) == raw
    assert decode(encode(message)) == message


@pytest.mark.parametrize("command", sorted(EVERY_MESSAGE))
def test_checksums_agree_with_an_independent_implementation(command: str) -> None:
    body = EVERY_MESSAGE[command].rstrip(b"\r")
    through_az = body[:-4]
    assert checksum(through_az) == pysip2.calculate_checksum(through_az) == body[-4:].decode()


def test_typed_reading_of_a_checkout_response() -> None:
    response = decode(EVERY_MESSAGE["12"])
    assert isinstance(response, CheckoutResponse)
    assert response.ok is True and response.renewal_ok is False
    assert response.magnetic_media is False and response.desensitize is True
    assert response.transaction_date == datetime(2024, 5, 1, 10, 0)
    assert response.title == "Truyện Kiều"
    assert response.due_date == "20240515    235900"
    assert response.screen_messages == ("Mượn thành công",)
    assert response.sequence == 1
    assert response.fixed["transaction_date"] == "20240501    100000"


def test_patron_status_flags_and_repeated_item_lists() -> None:
    status = decode(EVERY_MESSAGE["24"])
    assert isinstance(status, PatronStatusResponse)
    assert status.patron_status == frozenset({PatronStatusFlag.CARD_REPORTED_LOST})
    assert status.valid_patron is True and status.valid_patron_password is False
    info = decode(EVERY_MESSAGE["64"])
    assert isinstance(info, PatronInformationResponse)
    assert info.charged_items == ("300001", "300002")
    assert info.hold_items_count == 1 and info.charged_items_count == 2
    assert info.get_all("AU") == ("300001", "300002")


def test_checkin_routing_extension_fields() -> None:
    checkin = decode(EVERY_MESSAGE["10"])
    assert isinstance(checkin, CheckinResponse)
    assert checkin.alert and checkin.sort_bin == "5"
    assert checkin.destination_location == "CG" and checkin.alert_type == "04"


def test_famous_login_example_has_a_wrong_checksum() -> None:
    login = decode(FAMOUS_BAD_LOGIN)
    assert isinstance(login, LoginRequest)
    assert login.checksum_ok is False
    assert login.sequence == 5 and login.login_user_id == "LoginUserID"
    assert login.location_code == "LocationCode"


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n", b""])
def test_any_terminator_or_none(terminator: bytes) -> None:
    raw = EVERY_MESSAGE["12"].rstrip(b"\r") + terminator
    assert decode(raw) == decode(EVERY_MESSAGE["12"])
    assert decode(raw).checksum_ok


def test_missing_pipe_before_ay() -> None:
    body = b"941AOMAIN"
    raw = body + b"AY3AZ" + checksum(body + b"AY3AZ").encode() + b"\r"
    message = decode(raw)
    assert message.fields == (("AO", "MAIN"),) and message.sequence == 3 and message.checksum_ok


def test_repeated_and_empty_fields_are_kept_in_order() -> None:
    fixed = b"64" + b" " * 14 + b"001" + b"20240501    100000" + b"0000" * 6
    raw = fixed + b"AO|AAP1|AE|AFone|AUa|AFtwo|AUb|"
    message = decode(raw)
    assert message.fields[:3] == (("AO", ""), ("AA", "P1"), ("AE", ""))
    assert message.get_all("AF") == ("one", "two")
    assert message.get_all("AU") == ("a", "b")
    assert message.checksum_ok is None and message.sequence is None
    assert encode(message, error_detection=False, terminator=b"") == raw


def test_iso_and_blank_dates_keep_their_raw_text() -> None:
    iso = b"121NNY2024-05-01 10:00:00AOMAIN|AAP1|ABI1|AJT|AH2024-05-15 23:59:00|"
    message = decode(iso)
    assert isinstance(message, CheckoutResponse)
    assert message.fixed["transaction_date"] == "2024-05-01 10:00:00"
    assert message.transaction_date == datetime(2024, 5, 1, 10, 0)
    assert message.get("AO") == "MAIN"
    blank = decode(b"121NNY" + b" " * 18 + b"AOMAIN|AAP1|ABI1|AJT|AH|")
    assert isinstance(blank, CheckoutResponse)
    assert blank.transaction_date is None and blank.fixed["transaction_date"] == " " * 18
    odd = decode(b"121NNYnot a date at allAOMAIN|")
    assert isinstance(odd, CheckoutResponse) and odd.transaction_date is None


def test_nfd_title_checksum_is_over_bytes_and_text_is_not_normalised() -> None:
    title = unicodedata.normalize("NFD", "Dế Mèn phiêu lưu ký")
    response = CheckoutResponse.create(ok=True, item_id="B3", title=title)
    raw = encode(response, sequence=2)
    decoded = decode(raw)
    assert decoded.checksum_ok and isinstance(decoded, CheckoutResponse)
    assert decoded.title == title and decoded.title != unicodedata.normalize("NFC", title)
    # a server that summed code points instead of bytes gets a different checksum
    body = raw.rstrip(b"\r")[:-4]
    by_code_points = f"{-sum(map(ord, body.decode())) & 0xFFFF:04X}"
    assert by_code_points != checksum(body)


def test_cp850_and_cp1258_connections() -> None:
    response = CheckoutResponse.create(ok=True, item_id="B1", title="Café Müller")
    raw = encode(response, "cp850")
    assert "Café Müller".encode("cp850") in raw
    assert decode(raw, "cp850").get("AJ") == "Café Müller"
    viet = CheckoutResponse.create(ok=True, item_id="B1", title="Truyện Kiều")
    raw = encode(viet, "cp1258")
    assert "Truyê\u0323n Kiê\u0300u".encode("cp1258") in raw  # tone marks combining
    title = decode(raw, "cp1258").get("AJ")
    assert title is not None and unicodedata.normalize("NFC", title) == "Truyện Kiều"


def test_a_decomposed_title_crosses_a_cp1258_wire_with_every_letter() -> None:
    """NFD "Dế Mèn phiêu lưu ký" hands in lone combining circumflex and horn marks, which
    cp1258 has no byte for: composed first, each joins its vowel (0xEA ê, 0xFD ư), and
    the tones travel as cp1258's combining marks (0xEC acute)."""
    nfd = unicodedata.normalize("NFD", "Dế Mèn phiêu lưu ký")
    raw = encode(CheckoutResponse.create(ok=True, item_id="B1", title=nfd), "cp1258")
    assert b"AJD\xea\xec M\xe8n phi\xeau l\xfdu ky\xec|" in raw
    assert b"?" not in raw


def test_fields_ending_like_a_checksum_are_fields() -> None:
    """Found by hypothesis: without error detection, patron "Z" then an empty AC ends the
    message in "AAZ|AC|", whose last six bytes look like a checksum field "AZ|AC|"."""
    message = decode(b"01N                  AO|AL|AAZ|AC|\r")
    assert message.fields == (("AO", ""), ("AL", ""), ("AA", "Z"), ("AC", ""))
    assert message.checksum_ok is None


def test_undecodable_bytes_become_replacement_characters() -> None:
    message = decode(b"121NNY20240501    100000AOMAIN|AJbad \xff\xfe byte|")
    assert message.get("AJ") == "bad \ufffd\ufffd byte"


def test_unencodable_text_is_a_clear_error_naming_the_field() -> None:
    with pytest.raises(SIP2Error, match="field AJ cannot be encoded as cp850"):
        encode(CheckoutResponse.create(title="Truyện Kiều"), "cp850")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "too short"),
        (b"1", "too short"),
        (b"ZZhello", "unknown command id"),
        (b"12", "too short: fixed field ok"),
        (b"121NNY2024", "too short: fixed field transaction_date"),
        (b"121NNY20240501    100000A|", "bad field id"),
        (b"121NNY20240501    100000\xc3(|", "bad field id"),
    ],
)
def test_undecodable_messages_raise_sip2_error_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(SIP2Error, match=reason):
        decode(raw)


def test_unknown_encoding_and_wrong_type_are_sip2_errors() -> None:
    with pytest.raises(SIP2Error, match="unknown text encoding"):
        decode(EVERY_MESSAGE["94"], "klingon")
    with pytest.raises(SIP2Error, match="expected bytes or str"):
        decode(42)  # type: ignore[arg-type]


def test_create_fills_required_fields_and_refuses_unknown_ones() -> None:
    request = CheckoutRequest.create(patron_id="P1", item_id="B1")
    assert [fid for fid, _ in request.fields] == ["AO", "AA", "AB", "AC"]
    with pytest.raises(TypeError, match="no field colour"):
        CheckoutRequest.create(colour="red")
    with pytest.raises(ValueError, match="must be 18 characters"):
        CheckoutRequest.create(transaction_date="2024")


def test_sequence_number_bounds() -> None:
    with pytest.raises(SIP2Error, match="0-9"):
        encode(CheckoutRequest.create(), sequence=10)
