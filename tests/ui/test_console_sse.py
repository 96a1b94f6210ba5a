"""The console's server-sent-events parser: central's exact bytes, any slicing, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ui.console.sse import SseParser, StreamError

# What central's ApiServer writes: a greeting comment, an alert, a keep-alive, an ack.
CENTRAL = (
    b": muontra central\n\n"
    b'event: alert\ndata: {"id": 1, "subject": "30077", '
    b'"detail": "S\xe1\xbb\x91 \xc4\x91\xe1\xbb\x8f"}\n\n'
    b": keep-alive\n\n"
    b'event: ack\ndata: {"acked_by": "lan", "id": 1}\n\n'
)
EXPECTED = [
    ("alert", '{"id": 1, "subject": "30077", "detail": "Số đỏ"}'),
    ("ack", '{"acked_by": "lan", "id": 1}'),
]


def test_central_stream_exact_bytes() -> None:
    assert SseParser().feed(CENTRAL) == EXPECTED


def test_crlf_multiline_data_default_name_and_unfinished_event() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r\ndata:b\r\n\r\ndata: half") == [("message", "a\nb")]
    assert parser.feed(b"\n") == []  # the line ended, the event did not
    assert parser.feed(b"\n") == [("message", "half")]


def test_a_line_that_never_ends_is_refused() -> None:
    parser = SseParser(max_line=64)
    with pytest.raises(StreamError):
        parser.feed(b"data: " + b"x" * 100)
    with pytest.raises(StreamError):
        SseParser(max_line=64).feed(b"data: " + b"x" * 100 + b"\n\n")


@given(st.lists(st.integers(min_value=0, max_value=len(CENTRAL)), max_size=20))
def test_any_slicing_gives_the_same_events(cuts: list[int]) -> None:
    parser = SseParser()
    events: list[tuple[str, str]] = []
    start = 0
    for cut in [*sorted(cuts), len(CENTRAL)]:
        events += parser.feed(CENTRAL[start:cut])
        start = cut
    assert events == EXPECTED


@given(st.binary(max_size=2000))
def test_hostile_bytes_never_crash_but_may_be_refused(data: bytes) -> None:
    parser = SseParser(max_line=512)
    try:
        events = parser.feed(data)
    except StreamError:
        return
    for name, text in events:
        assert isinstance(name, str) and isinstance(text, str)
