"""FEIG advanced and standard protocol frames."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from muontra.cli import main
from protocols.readers.feig import BadFrame, FeigFrame, FeigParser, decode_frames

# The ISO 15693 inventory request to the broadcast address, as printed in FEIG's
# protocol examples and copied widely: 02 00 09 FF B0 01 00 18 43.
INVENTORY = bytes.fromhex("020009ffb001001843")


def test_published_inventory_request_exact_bytes() -> None:
    assert FeigFrame(0xFF, 0xB0, b"\x01\x00").encode() == INVENTORY
    (frame,) = FeigParser().feed(INVENTORY)
    assert frame == FeigFrame(0xFF, 0xB0, b"\x01\x00")
    assert isinstance(frame, FeigFrame) and "inventory" in frame.command_name


def test_standard_protocol_frame() -> None:
    raw = FeigFrame(0xFF, 0xB0, b"\x01\x00", advanced=False).encode()
    assert raw[0] == len(raw) == 7
    (frame,) = decode_frames(raw)
    assert isinstance(frame, FeigFrame) and not frame.advanced and frame.crc_ok


def test_noise_split_chunks_bad_crc_and_resync() -> None:
    answer = FeigFrame(
        0xFF, 0xB0, bytes.fromhex("00 01 03 00 e0040150a1b2c3d4".replace(" ", ""))
    ).encode()
    corrupt = bytearray(INVENTORY)
    corrupt[-1] ^= 0xFF
    stream = b"\x00\xff noise" + bytes(corrupt) + answer + INVENTORY
    parser = FeigParser()
    out: list[FeigFrame | BadFrame] = []
    for i in range(0, len(stream), 3):
        out += parser.feed(stream[i : i + 3])
    good = [f for f in out if isinstance(f, FeigFrame)]
    bad = [f for f in out if isinstance(f, BadFrame)]
    assert len(bad) == 1 and bad[0].raw == bytes(corrupt)
    assert [f.encode() for f in good] == [answer, INVENTORY]


@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=300),
    st.lists(st.integers(1, 50), max_size=20),
)
def test_round_trip_in_any_chunking(
    address: int, command: int, data: bytes, cuts: list[int]
) -> None:
    raw = FeigFrame(address, command, data).encode()
    parser = FeigParser()
    frames: list[FeigFrame | BadFrame] = []
    pos = 0
    for cut in cuts:
        frames += parser.feed(raw[pos : pos + cut])
        pos += cut
    frames += parser.feed(raw[pos:])
    assert frames == [FeigFrame(address, command, data)]


@given(st.binary(max_size=200))
def test_fuzzed_streams_never_raise(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        decode_frames(data)
    FeigParser().feed(data)


def test_frame_decode_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frame", "decode", "feig", "02 00 09 FF B0 01 00 18 43", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["crc_ok"] is True and record["command"] == 0xB0
    assert record["address"] == 255 and record["data"] == "0100"
    assert main(["frame", "decode", "feig", "02 00 09 FF B0 01 00 18 44"]) == 1
    assert "bad frame" in capsys.readouterr().out
