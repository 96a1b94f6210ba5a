"""`muontra tag write --model iso28560-2` writes tags other decoders read back the same (issue 18).

Two checks on what the station leaves on a (simulated) tag: the bytes equal a published dump
for the same content (ISO 28560-2 Annex D, which dp2's encoder also produces), and an
independent reading of the ISO 28560-2 / ISO 15962 rules, written here from the rules and
sharing no code with protocols.tags, finds the same elements. It reads the way HelMet's
decoder (Finnish libraries' ``HelmetRfidTag``) does: through the whole memory, zero bytes
included, so data an earlier programming left behind would show.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.cli_tag_station import _clear_after
from drivers.registry import open_device
from drivers.sim.field import SimTag, TagField, uid_for
from muontra.cli import main
from protocols.tags import TagData, decode, encode

# ISO 28560-2 Annex D (2023 edition, table D.10) = dp2 UnitTestRFID/TestChip.cs
# Test_chip_layout_2's asserted output: item 123456789012, set 12/3, shelf location
# QA268.L55, owner US-InU-Mu.
ANNEX_D_FULL = bytes.fromhex(
    "91 00 05 1c  be 99 1a 14  02 01 d0 14  02 04 b3 46  07 44 1c b6  e2 e3 35 d6"
    "  83 02 07 ac  c0 9e ba a0  6f 6b 00 00"
)
# dp2 UnitTestRFID/TestChip.cs Test_chip_layout_4: item 123456789012 alone.
DP2_ITEM_ONLY = bytes.fromhex("91 00 05 1c  be 99 1a 14")


# --- an independent reading of the rules ------------------------------------------------------

UPPER = "-ABCDEFGHIJKLMNOPQRSTUVWXYZ:"
LOWER = "-abcdefghijklmnopqrstuvwxyz:"
DIGITS = "0123456789-:"


def bit_string(data: bytes) -> str:
    return "".join(format(byte, "08b") for byte in data)


def characters(data: bytes, width: int, table: dict[int, str], fill: set[int]) -> str:
    """Fixed-width codes. The encoder takes as few bytes as hold the text, so the last
    character reaches the last byte; codes after the fewest that do are fill when they look
    like fill (all ones, all zeros, the 6-bit space)."""
    bits = bit_string(data)
    codes = [int(bits[i : i + width], 2) for i in range(0, len(bits) - width + 1, width)]
    fewest = (len(bits) - 8) // width + 1
    while len(codes) > fewest and codes[-1] in fill:
        codes.pop()
    return "".join(table[code] for code in codes)


def isil(data: bytes) -> str:
    """ISO 28560-2 Annex C: 5-bit upper/lower sets, a 4-bit digit set, latches and shifts."""
    bits, out, mode, once = bit_string(data), [], "upper", None
    while True:
        current = once or mode
        width = 4 if current == "digits" else 5
        if len(bits) < width:
            return "".join(out)
        code, bits = int(bits[:width], 2), bits[width:]
        once = None
        if current == "digits":
            if code < 12:
                out.append(DIGITS[code])
            elif len(bits) < 5:
                return "".join(out)  # the 1111 fill
            else:
                target = "upper" if code in (12, 13) else "lower"
                mode, once = (target, None) if code in (12, 14) else (mode, target)
        elif code < 28:
            out.append((UPPER if current == "upper" else LOWER)[code])
        elif len(bits) < 4:
            return "".join(out)  # fill
        else:
            target = {28: "other", 29: "other", 30: "digits", 31: "digits"}[code]
            if target == "other":
                target = "lower" if current == "upper" else "upper"
            mode, once = (target, None) if code in (28, 30) else (mode, target)


def value(oid: int, compaction: int, data: bytes) -> str:
    if compaction == 0:
        return isil(data) if oid in (3, 11) else data.hex()
    if compaction == 1:
        return str(int.from_bytes(data, "big"))
    if compaction == 2:
        return data.hex().removesuffix("f")
    if compaction == 3:
        return characters(data, 5, {c: chr(0x40 + c) for c in range(32)}, {0, 31})
    if compaction == 4:
        six = {c: chr(c + 0x40 if c < 0x20 else c) for c in range(64)}
        return characters(data, 6, six, {0, 0x20, 63})
    if compaction == 5:
        return characters(data, 7, {c: chr(c) for c in range(128)}, {0, 127})
    return data.decode("latin-1" if compaction == 6 else "utf-8")


def read_like_helmet(memory: bytes) -> dict[int, str]:
    """Every element in the whole memory: a zero precursor is an empty element (its length
    byte follows), and reading goes on after it, as HelMet's parse_data does."""
    found: dict[int, str] = {}
    i = 0
    while i + 1 < len(memory):
        precursor = memory[i]
        oid, i = precursor & 0x0F, i + 1
        if oid == 15:
            oid, i = 15 + memory[i], i + 1
        pad = 0
        if precursor & 0x80:
            pad, i = memory[i], i + 1
        length, i = memory[i], i + 1
        data, i = memory[i : i + length], i + length + pad
        if precursor:
            found[oid] = value(oid, precursor >> 4 & 7, data)
    return found


# --- the station ---------------------------------------------------------------------------


@pytest.fixture
def station() -> Iterator[tuple[str, TagField]]:
    name = "station-28560-2"
    field = TagField.named(name)
    try:
        yield f"sim://{name}?timing=0", field
    finally:
        TagField.forget(name)


def write(url: str, tag: SimTag, *options: str) -> int:
    return main(["tag", "write", url, tag.uid.hex(), "--model", "iso28560-2", *options])


def test_the_annex_d_item_is_written_as_the_standard_prints_it(
    station: tuple[str, TagField], capsys: pytest.CaptureFixture[str]
) -> None:
    url, field = station
    # a tag programmed before for another library, longer than the new data
    before = TagData(
        model="iso28560-2",
        item_id="ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        owner_library="FI-He",
        elements=((17, "Seitsemän veljestä"), (6, "84.2 KIV")),
    )
    tag = field.place(SimTag.with_data(uid_for("annex-d"), encode(before)))
    options = ["--item", "123456789012", "--owner", "US-InU-Mu", "--part", "3/12"]
    assert write(url, tag, *options, "--shelf", "QA268.L55", "--security", "keep") == 0
    out = capsys.readouterr().out
    assert "written and verified" in out and "old data cleared after it" in out
    memory = bytes(tag.memory)
    assert memory[:36] == ANNEX_D_FULL  # the published bytes, byte for byte
    assert not any(memory[36:])  # and nothing of the old programming after them
    expected = {1: "123456789012", 2: "d0", 3: "US-InU-Mu", 4: "1203", 6: "QA268.L55"}
    assert read_like_helmet(memory) == expected
    ours = decode(memory)
    assert (ours.item_id, ours.owner_library, ours.set_size, ours.set_index) == (
        "123456789012",
        "US-InU-Mu",
        12,
        3,
    )


def test_an_item_id_alone(station: tuple[str, TagField]) -> None:
    url, field = station
    tag = field.place(SimTag.with_data(uid_for("alone"), b""))
    assert write(url, tag, "--item", "123456789012", "--security", "keep") == 0
    assert bytes(tag.memory[:8]) == DP2_ITEM_ONLY and not any(tag.memory[8:])
    assert read_like_helmet(bytes(tag.memory)) == {1: "123456789012"}


@pytest.mark.parametrize(
    ("item", "owner", "part"),
    [("30100123", "VN-HN0001", "2/3"), ("B0001", "VN-HCM0001", "1/1"), ("0012", "DE-Heu1", "1/2")],
)
def test_items_of_this_project_read_the_same_independently(
    station: tuple[str, TagField], item: str, owner: str, part: str
) -> None:
    url, field = station
    tag = field.place(SimTag.with_data(uid_for(item), b"\x55" * 112))
    assert write(url, tag, "--item", item, "--owner", owner, "--part", part) == 0
    read = read_like_helmet(bytes(tag.memory))
    index, size = part.split("/")
    assert (read[1], read[3]) == (item, owner)
    if size != "1":  # set information: parts then part, two digits each ("0201": numeric)
        assert read[4] == f"{int(size):02}{int(index):02}"
    assert set(read) == ({1, 2, 3, 4} if size != "1" else {1, 2, 3})


def test_a_shelf_location_is_refused_for_models_without_one(
    station: tuple[str, TagField], capsys: pytest.CaptureFixture[str]
) -> None:
    url, field = station
    tag = field.place(SimTag.with_data(uid_for("shelf"), b""))
    code = main(["tag", "write", url, tag.uid.hex(), "--item", "B1", "--shelf", "QA268.L55"])
    assert code == 1 and "only the iso28560-2 model" in capsys.readouterr().err
    assert not any(tag.memory)


def test_old_data_that_the_tag_does_not_let_go_is_a_failure(
    station: tuple[str, TagField],
) -> None:
    url, field = station
    tag = field.place(SimTag.with_data(uid_for("stale"), b"\x55" * 112))
    reader = open_device(url)
    reader.open()
    try:
        field.faults.silent_write_fail[tag.uid] = 1  # the zeros are acknowledged, not kept
        assert _clear_after(reader, tag.uid, 4, tag.block_count, 4) is None
        # written again, the blocks still dirty are cleared (the sim failed only the first)
        assert 1 <= (_clear_after(reader, tag.uid, 4, tag.block_count, 4) or 0) <= 24
        assert not any(tag.memory[16:]) and tag.memory[:16] == b"\x55" * 16
        assert _clear_after(reader, tag.uid, 4, tag.block_count, 4) == 0  # nothing left to do
    finally:
        reader.close()
