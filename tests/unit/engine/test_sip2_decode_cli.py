import io
import json
import sys

import pytest

from muontra.cli import main

TRAFFIC = (
    b"2024-05-01 10:00:00 -> 9300CNkiosk|COsecret|CPTT|AY0AZF556\r\n"
    b"2024-05-01 10:00:00 <- 941AY0AZFDFD\r\n"
    b"SEND: 2300120240501    100000AOLIB|AA2001234|AC|AD9999|AY1AZF353\n"
    b"RECV: 24              00120240501    100000AOLIB|AA2001234|"
    b"AENguy\xe1\xbb\x85n V\xc4\x83n A|BLY|CQN|AFSai m\xc3\xa3 PIN|AY1AZ0000\r"
    b"garbage line\r"
)


def run(argv: list[str], data: bytes, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return main(["sip2", "decode", *argv])


def test_human_output_masks_patron_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([], TRAFFIC, monkeypatch) == 1  # one line did not decode
    out = capsys.readouterr().out
    assert "93 Login (checksum" in out and "94 Login Response" in out
    assert "24 Patron Status Response (CHECKSUM BAD, sequence 1)" in out
    assert "2001234" not in out and "9999" not in out and "Nguyễn" not in out
    assert "AF screen_message" in out and "Sai mã PIN" in out
    assert "?? cannot decode b'garbage line'" in out


def test_json_output_and_show_patron_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["--json", "--show-patron-data"], TRAFFIC, monkeypatch)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("command") for r in records] == ["93", "94", "23", "24", None]
    status = records[3]
    assert status["name"] == "Patron Status Response"
    assert status["checksum"] == "bad" and status["sequence"] == 1
    assert ["AE", "Nguyễn Văn A"] in status["fields"]
    assert status["fixed"]["language"] == "001"
    assert records[4]["error"]


def test_file_argument(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    log = tmp_path / "traffic.log"
    log.write_bytes(b"941AY0AZFDFD\n")
    assert main(["sip2", "decode", str(log)]) == 0
    assert "94 Login Response (checksum ok, sequence 0)" in capsys.readouterr().out
    assert main(["sip2", "decode", str(tmp_path / "missing")]) == 2
