import json

import pytest

from muontra.cli import main

DANISH_HEX = (
    "11 01 01 33 30 30 30 30 31 32 33 34 35 36 37 38 39 00 00 9b 8f 56 4e 2d 48 4e 30 30 30 31 "
    "00 00 00 00 00 00"
)


def test_decode_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", "decode", DANISH_HEX]) == 0
    out = capsys.readouterr().out
    assert "model            danish" in out
    assert "item id          30000123456789" in out
    assert "owner library    VN-HN0001" in out
    assert "CRC              valid" in out


def test_decode_json_accepts_colons_and_0x(capsys: pytest.CaptureFixture[str]) -> None:
    colons = ":".join("0x" + b for b in DANISH_HEX.split())
    assert main(["tag", "decode", colons, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "danish" and data["item_id"] == "30000123456789"
    assert data["crc_valid"] is True and data["blocks_byte_reversed"] is False


def test_blank_and_garbage_are_clear_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", "decode", "55" * 32]) == 1
    assert "blank tag" in capsys.readouterr().err
    assert main(["tag", "decode", "zz", "--json"]) == 1
    assert "not hexadecimal" in json.loads(capsys.readouterr().out)["error"]


def test_decode_shows_every_iso28560_2_element(capsys: pytest.CaptureFixture[str]) -> None:
    # dp2 UnitTestRFID/TestChip.cs Test_chip_layout_3: the Annex D tag plus the title "test"
    memory = (
        "91 00 05 1c be 99 1a 14 02 02 d0 02 14 02 04 b3 c6 02 07 44 1c b6 e2 e3 35 d6 00 00"
        " 03 07 ac c0 9e ba a0 6f 6b 7f 02 04 74 65 73 74"
    )
    assert main(["tag", "decode", memory]) == 0
    out = capsys.readouterr().out
    assert "element 17       title: 'test'" in out
    assert "element 6        shelf location: 'QA268.L55'" in out
