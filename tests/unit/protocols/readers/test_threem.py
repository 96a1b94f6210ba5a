"""3M / Bibliotheca 210/810 frames: the specification's examples, byte for byte."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.readers import threem
from protocols.readers.threem import BadFrame, ThreeMError, ThreeMFrame, ThreeMParser

UID = bytes.fromhex("E007000001234567")


def test_specification_crc_example() -> None:
    # "Outgoing Message: D6 00 09 03 00 02 00 00 00 03 … resulting CRC = 12 E6"
    frame = ThreeMFrame(0x03, bytes.fromhex("000200000003"))
    assert frame.encode() == bytes.fromhex("D6 00 09 03 00 02 00 00 00 03 12 E6")


def test_hardware_probe_captured_from_an_810() -> None:
    # Captured by Biblio::RFID: request D5 00 05 04 00 11 8C 66, answer … 72 50.
    (request,) = ThreeMParser().feed(bytes.fromhex("D5 00 05 04 00 11 8C 66"))
    assert isinstance(request, ThreeMFrame) and request.start == 0xD5
    (answer,) = ThreeMParser().feed(bytes.fromhex("D5 00 09 04 00 11 0A 05 00 02 72 50"))
    assert isinstance(answer, ThreeMFrame) and answer.body == bytes.fromhex("00110A050002")


@pytest.mark.parametrize(
    ("frame", "head"),
    [
        (threem.inventory(0, 0x05), "D6 00 05 FE 00 05"),
        (
            threem.read_blocks(bytes.fromhex("0000000001234567"), 0, 2),
            "D6 00 0D 02 00 00 00 00 01 23 45 67 00 02",
        ),
        (
            threem.write_blocks(
                bytes.fromhex("0000000001234567"), 0, bytes.fromhex("1234ABCD55667788")
            ),
            "D6 00 16 04 00 00 00 00 01 23 45 67 00 02 00 12 34 AB CD 55 66 77 88",
        ),
        (threem.get_afi(UID), "D6 00 0B 0A E0 07 00 00 01 23 45 67"),
        (threem.write_afi(UID, 0xD7), "D6 00 0C 09 E0 07 00 00 01 23 45 67 D7"),
        (threem.lock_afi(UID), "D6 00 0B 06 E0 07 00 00 01 23 45 67"),
        (
            threem.check_eas(bytes.fromhex("E004000001234567")),
            "D6 00 0B 03 E0 04 00 00 01 23 45 67",
        ),
        (
            threem.eas_control(bytes.fromhex("E004000001234567"), True),
            "D6 00 0C 0C E0 04 00 00 01 23 45 67 01",
        ),
        (
            threem.tag_info(bytes.fromhex("E007C10001234567"), 0x03),
            "D6 00 0C 0D E0 07 C1 00 01 23 45 67 03",
        ),
    ],
)
def test_requests_match_the_specification_examples(frame: ThreeMFrame, head: str) -> None:
    raw = frame.encode()
    assert raw[:-2] == bytes.fromhex(head)
    (parsed,) = ThreeMParser().feed(raw)
    assert parsed == frame
    assert threem.request_fields(frame) is not None


def _answer(hex_body: str) -> threem.Answer:
    body = bytes.fromhex(hex_body)
    return threem.parse_answer(ThreeMFrame(body[0], body[1:]))


def test_inventory_answer_of_the_specification() -> None:
    answer = _answer("FE 00 00 05 02 0000000000AD6302 E0070000006000AE")
    assert answer.ok
    assert answer.fields["tags"] == [
        (0, bytes.fromhex("0000000000AD6302")),
        (0, bytes.fromhex("E0070000006000AE")),
    ]


def test_read_answer_of_the_specification() -> None:
    answer = _answer("02 00 0000000001234567 02 00 00 00112233 01 00 00112233")
    assert answer.uid == bytes.fromhex("0000000001234567")
    assert answer.fields["data"] == bytes.fromhex("0011223300112233")
    assert answer.fields["blocks"] == [0, 1]


def test_get_afi_check_eas_and_tag_info_answers() -> None:
    assert _answer("0A 00 E007000001234567 DA").fields == {"afi": 0xDA}
    assert _answer("03 00 E004000001234567 01").fields == {"eas": True}
    no_eas = _answer("03 06 E004000001234567 00")
    assert no_eas.error_text == "no transponder" and no_eas.fields == {"eas": False}
    assert _answer("0D 00 E007C10001234567 02 DA").fields == {"available": 2, "afi": 0xDA}
    assert _answer("0D 00 0000000001234567 00").fields == {"available": 0}


def test_unimplemented_command_answer() -> None:
    answer = _answer("42 02")
    assert not answer.ok and answer.error_text == "command not implemented"


def test_malformed_answers_raise_the_codec_error() -> None:
    with pytest.raises(ThreeMError):
        _answer("FE 00 00 05 02 E007")  # two tags announced, two bytes given
    with pytest.raises(ThreeMError):
        _answer("0D 00 E007C10001234567 0F DA")


def test_noise_chunking_bad_crc_and_resync() -> None:
    good = threem.inventory().encode()
    bad = bytearray(threem.get_afi(UID).encode())
    bad[-1] ^= 0x55
    parser = ThreeMParser()
    frames = []
    for byte in b"\x00junk" + bytes(bad) + good:
        frames += parser.feed(bytes([byte]))
    assert isinstance(frames[0], BadFrame) and frames[-1] == threem.inventory()
    # A false start byte announcing a long frame does not swallow the real one behind it.
    assert ThreeMParser().feed(b"\xd6\x02\x00" + good) == [threem.inventory()]
    # A frame cut short: once the line goes quiet the parser gives up on it.
    quiet = ThreeMParser()
    assert quiet.feed(b"\xd6\x00\x20\x03") == [] and quiet.pending == 4
    assert quiet.resync() == [] and quiet.pending == 0


@given(st.integers(0, 255), st.binary(max_size=60))
def test_round_trip(command: int, body: bytes) -> None:
    frame = ThreeMFrame(command, body)
    assert ThreeMParser().feed(frame.encode()) == [frame]


@given(st.binary(max_size=200))
def test_fuzzed_bytes_raise_only_the_codec_error(data: bytes) -> None:
    for frame in ThreeMParser().feed(data):
        if isinstance(frame, ThreeMFrame):
            with contextlib.suppress(ThreeMError):
                threem.parse_answer(frame)
            threem.request_fields(frame)
