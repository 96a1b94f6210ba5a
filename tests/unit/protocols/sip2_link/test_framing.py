import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip2 import SIP2Error
from protocols.sip2.framing import Framer

MESSAGES = [b"941AY0AZFDFC", b"98YYYYNN60000320240101    1200002.00AOLIB|BXYYYYYYYYYYYYYYYY|", b"X"]


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"])
def test_splits_on_every_terminator_and_records_it(terminator: bytes) -> None:
    framer = Framer()
    assert framer.feed(terminator.join(MESSAGES) + terminator) == MESSAGES
    assert framer.terminators_seen == {terminator}
    assert framer.pending == b""


def test_crlf_split_between_chunks_is_one_terminator() -> None:
    framer = Framer()
    assert framer.feed(b"941\r") == [b"941"]
    assert framer.feed(b"\n940\r") == [b"940"]
    assert b"\r\n" in framer.terminators_seen


def test_partial_message_waits_for_its_terminator() -> None:
    framer = Framer()
    assert framer.feed(b"98YYYY") == []
    assert framer.pending == b"98YYYY"
    assert framer.feed(b"NN\r") == [b"98YYYYNN"]


def test_blank_lines_and_nul_padding_are_skipped() -> None:
    assert Framer().feed(b"\r\n\r\n\x00\r941\r\n") == [b"941"]


def test_endless_garbage_is_bounded() -> None:
    framer = Framer(max_message=100)
    with pytest.raises(SIP2Error, match="without a message terminator"):
        framer.feed(b"x" * 101)
    assert framer.pending == b""
    assert framer.feed(b"941\r") == [b"941"]


@given(
    st.lists(st.integers(min_value=1, max_value=20), max_size=30),
    st.sampled_from([b"\r", b"\n", b"\r\n"]),
)
def test_any_chunking_gives_the_same_messages(cuts: list[int], terminator: bytes) -> None:
    stream = b"".join(m + terminator for m in MESSAGES)
    framer = Framer()
    frames: list[bytes] = []
    pos = 0
    for cut in cuts:
        frames += framer.feed(stream[pos : pos + cut])
        pos += cut
    frames += framer.feed(stream[pos:])
    assert frames == MESSAGES
