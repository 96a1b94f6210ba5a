"""The storage-card commands for ISO 15693 tags, as readers without a transparent session
answer them: exact bytes, the status words of their manuals, hostile answers."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.readers import pcsc
from protocols.readers.pcsc import PcscApduError, StatusKind


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        # P1 high byte, P2 low byte of the block number; Le / Lc the bytes, whole blocks.
        (pcsc.read_binary(0, 4), "FF B0 00 00 04"),
        (pcsc.read_binary(27, 4), "FF B0 00 1B 04"),
        (pcsc.read_binary(0, 36), "FF B0 00 00 24"),
        (pcsc.read_binary(0x1FF, 8), "FF B0 01 FF 08"),
        (pcsc.update_binary(27, b"\x11\x22\x33\x44"), "FF D6 00 1B 04 11 22 33 44"),
        (pcsc.update_binary(0x100, bytes(8)), "FF D6 01 00 08 0000000000000000"),
    ],
)
def test_block_addressing_exact_bytes(apdu: bytes, expected: str) -> None:
    assert apdu == bytes.fromhex(expected.replace(" ", ""))


def test_read_binary_answer_gives_exactly_what_was_asked() -> None:
    assert pcsc.parse_read_binary(bytes.fromhex("3132333435363738 9000"), 8) == b"12345678"


@pytest.mark.parametrize(
    ("answer", "kind", "sw"),
    [
        ("31323334 6282", StatusKind.NO_SUCH_BLOCK, 0x6282),  # end of memory before Le bytes
        ("6A82", StatusKind.NO_SUCH_BLOCK, 0x6A82),  # first block past the end
        ("6B00", StatusKind.NO_SUCH_BLOCK, 0x6B00),  # the range runs past the end
        ("6981", StatusKind.LOCKED, 0x6981),  # read-protected block
        ("6982", StatusKind.LOCKED, 0x6982),
        ("6300", StatusKind.FAILED, 0x6300),
        ("6581", StatusKind.MEMORY_FAILURE, 0x6581),
        ("6700", StatusKind.WRONG_LENGTH, 0x6700),
        ("6C04", StatusKind.WRONG_LENGTH, 0x6C04),
        ("6A81", StatusKind.NOT_SUPPORTED, 0x6A81),
        ("1234", StatusKind.OTHER, 0x1234),
        ("31323334 6F00", StatusKind.FAILED, 0x6F00),  # data with a failure: data not used
    ],
)
def test_read_binary_status_words(answer: str, kind: StatusKind, sw: int) -> None:
    with pytest.raises(PcscApduError) as caught:
        pcsc.parse_read_binary(bytes.fromhex(answer.replace(" ", "")), 4, "read block 27")
    assert (caught.value.kind, caught.value.sw) == (kind, sw)
    assert "read block 27" in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        "",  # nothing
        "90",  # one byte
        "313233 9000",  # short with 90 00
        "3132333435 9000",  # over-long with 90 00
        "9000",  # no data at all
        "31323334353637383940 9000",
    ],
)
def test_hostile_read_binary_answers_are_refused(answer: str) -> None:
    with pytest.raises(PcscApduError) as caught:
        pcsc.parse_read_binary(bytes.fromhex(answer.replace(" ", "")), 4)
    assert caught.value.kind is StatusKind.MALFORMED


def test_wrong_le_tells_the_length_the_reader_gives() -> None:
    with pytest.raises(PcscApduError) as caught:
        pcsc.parse_read_binary(bytes.fromhex("6C04"), 16)
    assert pcsc.wanted_length(caught.value) == 4
    assert "4 bytes at a time" in str(caught.value)
    with pytest.raises(PcscApduError) as whole:
        pcsc.parse_read_binary(bytes.fromhex("6C00"), 4)
    assert pcsc.wanted_length(whole.value) == 256
    with pytest.raises(PcscApduError) as other:
        pcsc.parse_read_binary(bytes.fromhex("6A82"), 4)
    assert pcsc.wanted_length(other.value) is None


def test_update_binary_answers() -> None:
    assert pcsc.parse_update_binary(bytes.fromhex("9000")) is None
    for answer, kind in (
        ("6981", StatusKind.LOCKED),  # the block is locked
        ("6982", StatusKind.LOCKED),
        ("6A82", StatusKind.NO_SUCH_BLOCK),
        ("6B00", StatusKind.NO_SUCH_BLOCK),
        ("6581", StatusKind.MEMORY_FAILURE),
        ("6300", StatusKind.FAILED),
        ("AA9000", StatusKind.MALFORMED),  # data where none belongs
        ("90", StatusKind.MALFORMED),
        ("", StatusKind.MALFORMED),
    ):
        with pytest.raises(PcscApduError) as caught:
            pcsc.parse_update_binary(bytes.fromhex(answer), "write block 5")
        assert caught.value.kind is kind, answer


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        ("6A81", True),  # function not supported: no transparent session
        ("6D00", True),  # INS not supported
        ("6E00", True),  # CLA not supported
        ("6B00", True),
        ("6A86", True),
        ("9000", False),  # an answer, if an odd one
        ("6300", False),  # a failure of the session, not its absence
        ("6401", False),
        ("C0030090009000", False),  # a real transparent answer
        ("6A", False),
        ("00 6A81", False),
        ("", False),
    ],
)
def test_bare_refusal_of_the_transparent_session(answer: str, refusal: bool) -> None:
    assert pcsc.is_bare_refusal(bytes.fromhex(answer.replace(" ", ""))) is refusal


@given(st.binary(max_size=300), st.integers(1, 256))
def test_read_binary_round_trip_and_length_check(data: bytes, length: int) -> None:
    raw = pcsc.response(data)
    if len(data) == length:
        assert pcsc.parse_read_binary(raw, length) == data
    else:
        with pytest.raises(PcscApduError):
            pcsc.parse_read_binary(raw, length)


@given(st.binary(max_size=300), st.integers(1, 256))
def test_storage_parsers_raise_only_their_own_error(raw: bytes, length: int) -> None:
    with contextlib.suppress(PcscApduError):
        pcsc.parse_read_binary(raw, length)
    with contextlib.suppress(PcscApduError):
        pcsc.parse_update_binary(raw)
    assert isinstance(pcsc.is_bare_refusal(raw), bool)
    assert isinstance(pcsc.storage_status_kind(int.from_bytes(raw[:2] or b"\0", "big")), StatusKind)
