"""PC/SC pseudo-APDUs and the transparent exchange: exact bytes, round trips, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.readers import pcsc
from protocols.readers.pcsc import (
    CommandApdu,
    PcscApduError,
    StatusKind,
    TransparentReply,
)


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        (pcsc.get_uid(), "FFCA000000"),
        (pcsc.read_binary(5, 4), "FFB0000504"),
        (pcsc.read_binary(0x105, 256), "FFB0010500"),
        (pcsc.update_binary(2, b"abcd"), "FFD600020461626364"),
        (pcsc.start_session(), "FFC2000002810000"),
        (pcsc.end_session(), "FFC2000002820000"),
        (pcsc.start_session(timer_us=5000), "FFC20000095F460400001388810000"),
        (pcsc.switch_to_iso15693(), "FFC20002048F02020300"),
        (pcsc.transceive(b"\x02\x2b"), "FFC20001049502022B00"),
        (pcsc.transceive(b"\x02\x2b", timer_us=100_000), "FFC200010B5F4604000186A09502022B00"),
        # A gate's alarm round (issue 17): a one-slot inventory with the AFI flag, AFI 0x07,
        # no mask (flags 0x36: high rate 02 | inventory 04 | AFI 10 | one slot 20).
        (
            pcsc.transceive(bytes.fromhex("36010700"), timer_us=100_000),
            "FFC200010D 5F4604000186A0 9504 36010700 00",
        ),
    ],
)
def test_command_exact_bytes(apdu: bytes, expected: str) -> None:
    assert apdu == bytes.fromhex(expected.replace(" ", ""))


def test_command_builders_refuse_bad_values() -> None:
    with pytest.raises(PcscApduError):
        pcsc.read_binary(-1, 4)
    with pytest.raises(PcscApduError):
        pcsc.read_binary(0, 257)
    with pytest.raises(PcscApduError):
        pcsc.update_binary(0, b"")
    with pytest.raises(PcscApduError):
        pcsc.update_binary(0, bytes(256))
    with pytest.raises(PcscApduError):
        pcsc.transceive(b"")
    with pytest.raises(PcscApduError):
        CommandApdu(0x100, 0, 0, 0).encode()


def test_uid_answer_is_turned_to_reading_order() -> None:
    answer = bytes.fromhex("D4C3B2A1500104E09000")
    assert pcsc.parse_uid(answer) == bytes.fromhex("E0040150A1B2C3D4")
    assert pcsc.parse_uid(answer) == pcsc.parse_uid(pcsc.response(answer[:-2]))
    with pytest.raises(PcscApduError) as failed:
        pcsc.parse_uid(bytes.fromhex("6300"))
    assert failed.value.kind is StatusKind.FAILED and failed.value.sw == 0x6300


@pytest.mark.parametrize(
    ("sw", "kind"),
    [
        (0x9000, StatusKind.OK),
        (0x6300, StatusKind.FAILED),
        (0x6401, StatusKind.NO_RESPONSE),
        (0x6581, StatusKind.MEMORY_FAILURE),
        (0x6700, StatusKind.WRONG_LENGTH),
        (0x6C04, StatusKind.WRONG_LENGTH),
        (0x6982, StatusKind.LOCKED),
        (0x6A81, StatusKind.NOT_SUPPORTED),
        (0x6A82, StatusKind.NO_SUCH_BLOCK),
        (0x6D00, StatusKind.NOT_SUPPORTED),
        (0x1234, StatusKind.OTHER),
    ],
)
def test_status_words_have_meanings(sw: int, kind: StatusKind) -> None:
    answer = pcsc.parse_response(b"data" + sw.to_bytes(2, "big"))
    assert answer.kind is kind
    if kind is StatusKind.OK:
        assert answer.checked() == b"data"
    else:
        with pytest.raises(PcscApduError) as caught:
            answer.checked("read block 3")
        assert caught.value.sw == sw and caught.value.kind is kind
        assert "read block 3" in str(caught.value)


def test_transparent_answer_with_the_tag_frame() -> None:
    raw = bytes.fromhex("C00300900092010096020000970200AA9000")
    reply = pcsc.parse_transparent(raw)
    assert reply == TransparentReply(0, 0x9000, icc_response=b"\x00\xaa")
    assert reply.checked() == b"\x00\xaa"
    assert reply.encode() == raw


def test_transparent_silent_tag_collision_and_refusal() -> None:
    silent = pcsc.parse_transparent(bytes.fromhex("C0030164019000"))
    assert silent.kind is StatusKind.NO_RESPONSE and silent.failed_object == 1
    with pytest.raises(PcscApduError) as caught:
        silent.checked()
    assert caught.value.kind is StatusKind.NO_RESPONSE and caught.value.sw == 0x6401
    collided = pcsc.parse_transparent(bytes.fromhex("C003009000920100960202009000"))
    assert collided.kind is StatusKind.COLLISION
    crc = pcsc.parse_transparent(bytes.fromhex("C003009000920100960201009701009000"))
    assert crc.kind is StatusKind.RF_ERROR
    # A reader without transparent mode answers with a bare status word.
    with pytest.raises(PcscApduError) as refused:
        pcsc.parse_transparent(bytes.fromhex("6A81"))
    assert refused.value.kind is StatusKind.NOT_SUPPORTED
    # An outer failure with a clean C0 object still counts as a failure.
    outer = pcsc.parse_transparent(bytes.fromhex("C0030090006300"))
    assert outer.kind is StatusKind.FAILED


def test_tlv_two_byte_tags_and_long_lengths() -> None:
    data = pcsc.encode_tlv(0x5F46, b"\x00\x00\x13\x88") + pcsc.encode_tlv(0x97, bytes(200))
    assert data[:7] == bytes.fromhex("5F460400001388") and data[7:10] == bytes.fromhex("9781C8")
    assert pcsc.parse_tlvs(data) == ((0x5F46, b"\x00\x00\x13\x88"), (0x97, bytes(200)))
    assert pcsc.encode_tlv(0x97, bytes(300))[:4] == bytes.fromhex("9782012C")
    for bad in ("5F", "97", "9705AA", "978301", "5F4604"):
        with pytest.raises(PcscApduError):
            pcsc.parse_tlvs(bytes.fromhex(bad))


def test_parse_command_cases() -> None:
    assert pcsc.parse_command(bytes.fromhex("FFCA0000")) == CommandApdu(0xFF, 0xCA, 0, 0)
    assert pcsc.parse_command(pcsc.get_uid()) == CommandApdu(0xFF, 0xCA, 0, 0, le=256)
    assert pcsc.parse_command(pcsc.update_binary(1, b"ab")).data == b"ab"
    assert pcsc.parse_command(pcsc.start_session()).le == 256
    for bad in ("FFCA00", "FFD6000005AA", "FFD6000000AA"):
        with pytest.raises(PcscApduError):
            pcsc.parse_command(bytes.fromhex(bad))


@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=255),
    st.none() | st.integers(1, 256),
)
def test_command_round_trip(
    cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None
) -> None:
    apdu = CommandApdu(cla, ins, p1, p2, data, le)
    assert pcsc.parse_command(apdu.encode()) == apdu


@given(
    st.lists(
        st.tuples(
            st.integers(0, 0xFF).filter(lambda t: t & 0x1F != 0x1F)
            | st.integers(0x1F00, 0xFFFF).filter(lambda t: t >> 8 & 0x1F == 0x1F),
            st.binary(max_size=300),
        ),
        max_size=5,
    )
)
def test_tlv_round_trip(objects: list[tuple[int, bytes]]) -> None:
    data = b"".join(pcsc.encode_tlv(tag, value) for tag, value in objects)
    assert pcsc.parse_tlvs(data) == tuple(objects)


@given(
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
    st.integers(0, 255),
    st.none() | st.binary(max_size=64),
    st.integers(0, 7),
)
def test_transparent_reply_round_trip(
    failed: int, status: int, response_status: int, icc: bytes | None, bits: int
) -> None:
    reply = TransparentReply(failed, status, response_status, icc, bits if icc is not None else 0)
    parsed = pcsc.parse_transparent(reply.encode())
    expected_bits = reply.rx_bits if (icc is not None or response_status) else 0
    assert parsed == TransparentReply(failed, status, response_status, icc, expected_bits)


@given(st.binary(max_size=80))
def test_parsers_raise_only_their_own_error(raw: bytes) -> None:
    for parse in (
        pcsc.parse_command,
        pcsc.parse_response,
        pcsc.parse_tlvs,
        pcsc.parse_transparent,
        pcsc.parse_uid,
        lambda r: pcsc.parse_transparent(r).checked(),
    ):
        with contextlib.suppress(PcscApduError):
            parse(raw)
