"""`muontra reader scan`, `tag read`, `tag write` and `frame decode 3m`, as a person runs them.

The station tools run against sim:// and against the FEIG and 3M drivers on a
simulated reader behind a real pseudo-terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.sim.devices import FeigFirmware, ThreeMFirmware
from drivers.sim.field import SimTag, TagField, uid_for
from drivers.sim.reader import item_tag
from drivers.sim.serial_peer import SerialPeer
from muontra.cli import main
from protocols.readers import threem
from protocols.readers.feig import FeigParser
from protocols.readers.threem import ThreeMParser
from protocols.tags import decode


@pytest.fixture(params=["feig", "3m"])
def serial_reader(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, TagField]]:
    field = TagField()
    if request.param == "feig":
        peer = SerialPeer(tmp_path / "feig", field, FeigParser, FeigFirmware(field)).start()
        # parity=N: Linux refuses (EINVAL) to re-apply even parity when a pty is opened a
        # second time; a USB-serial FEIG keeps its 8E1 default.
        url = f"feig+serial://{peer.link}?timeout=0.5&parity=N"
    else:
        peer = SerialPeer(tmp_path / "3m", field, ThreeMParser, ThreeMFirmware(field)).start()
        url = f"3m+serial://{peer.link}?timeout=0.5"
    try:
        yield url, field
    finally:
        peer.stop()


def test_scan_lists_every_tag_with_its_content(capsys: pytest.CaptureFixture[str]) -> None:
    name = "station-scan"
    field = TagField.named(name)
    try:
        field.place(item_tag("B0001", "VN-HN0001"))
        field.place(SimTag.with_data(uid_for("blank"), b""))
        assert main(["reader", "scan", f"sim://{name}?timing=0", "--rounds", "1", "--json"]) == 0
    finally:
        TagField.forget(name)
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_uid = {row["uid"]: row for row in rows}
    good = by_uid[uid_for("B0001").hex().upper()]
    assert (good["model"], good["item_id"], good["owner"], good["afi"], good["eas"]) == (
        "iso28560-3",
        "B0001",
        "VN-HN0001",
        7,
        True,
    )
    blank = by_uid[uid_for("blank").hex().upper()]
    assert blank["model"] is None and "blank" in blank["error"]


@pytest.mark.parametrize("model", ["iso28560-3", "danish", "iso28560-2", "3m-rfid501"])
def test_program_a_tag_then_read_it(
    serial_reader: tuple[str, TagField], model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url, field = serial_reader
    tag = field.place(SimTag.with_data(uid_for("new"), b"", afi=0x00, eas=False))
    uid = tag.uid.hex()
    code = main(
        [
            "tag",
            "write",
            url,
            uid,
            "--item",
            "30100123",
            "--owner",
            "VN-HN0001",
            "--model",
            model,
            "--part",
            "2/3",
            "--policy",
            "afi+eas",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "written and verified" in out and "security secured and verified" in out
    written = decode(bytes(tag.memory))
    assert (written.model, written.item_id, written.set_index, written.set_size) == (
        model,
        "30100123",
        2,
        3,
    )
    assert (tag.afi, tag.eas) == (0x07, True)

    assert main(["tag", "read", url, uid, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["tag"]["item_id"] == "30100123" and record["afi"] == 7 and record["eas"] is True


def test_write_that_the_tag_does_not_keep_fails_loudly(
    serial_reader: tuple[str, TagField], capsys: pytest.CaptureFixture[str]
) -> None:
    url, field = serial_reader
    tag = field.place(SimTag.with_data(uid_for("bad"), b""))
    field.faults.silent_write_fail[tag.uid] = 100
    assert main(["tag", "write", url, tag.uid.hex(), "--item", "B1"]) == 1
    assert "did not keep" in capsys.readouterr().err


def test_write_to_a_missing_tag_and_a_bad_uid(
    serial_reader: tuple[str, TagField], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = serial_reader
    assert main(["tag", "write", url, uid_for("nobody").hex(), "--item", "B1"]) == 1
    assert "did not answer" in capsys.readouterr().err
    assert main(["tag", "read", url, "E004"]) == 1
    assert "16 hex digits" in capsys.readouterr().err


def test_frame_decode_3m_json(capsys: pytest.CaptureFixture[str]) -> None:
    uid = bytes.fromhex("E007000001234567")
    stream = threem.write_afi(uid, 0xD7).encode() + threem.answer(0x09, 0, uid).encode()
    assert main(["frame", "decode", "3m", stream.hex(), "--json"]) == 0
    request, answer = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert request == {
        "crc_ok": True,
        "protocol": "3m",
        "start": 0xD6,
        "command": 9,
        "command_name": "write AFI",
        "data": stream[4:13].hex(),
        "direction": "request",
        "fields": {"uid": "E007000001234567", "afi": 0xD7},
    }
    assert (answer["direction"], answer["error"], answer["uid"]) == (
        "answer",
        "no error",
        "E007000001234567",
    )


def test_frame_decode_3m_bad_crc_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    raw = bytearray(threem.inventory().encode())
    raw[-1] ^= 1
    assert main(["frame", "decode", "3m", raw.hex(), "--json"]) == 1
    (record,) = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert record["crc_ok"] is False
