"""`muontra tag …`: RFID tag tools for installers — decode a dump, read a tag, program one.

``tag write`` is a tag programming station: it encodes the item in the chosen
data model, writes it, reads it back and compares byte for byte, then sets the
security state; it reports success only when everything read back matches.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict
from typing import Any

from protocols.tags import TagData, TagDataError, decode, iso28560_2

USAGE = {
    0: "acquisition",
    1: "circulating item",
    2: "not for circulation",
    7: "discarded",
    8: "patron card",
}


def configure(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="tag_command", metavar="TOOL", required=True)
    decode_parser = tools.add_parser(
        "decode",
        help="decode a tag's user memory given in hex",
        description="Decode a tag's user memory (hex; spaces, colons and 0x allowed) and show "
        "its data model, item id, owner library, set information and CRC.",
    )
    decode_parser.add_argument("hex", nargs="+", help="the memory, e.g. '11 01 01 33 30 …'")
    decode_parser.add_argument("--json", action="store_true", help="print JSON")
    decode_parser.set_defaults(_run=run_decode)

    read_parser = tools.add_parser(
        "read",
        help="read one tag on a reader: its memory, data model and security state",
        description="Read a tag through a reader opened by URL (e.g. sim://pad, "
        "feig+serial:///dev/ttyUSB0, 3m+serial:///dev/ttyUSB0, pcsc://) and show what it holds.",
    )
    read_parser.add_argument("url", help="the reader's device URL")
    read_parser.add_argument("uid", help="the tag's UID in hex (see `muontra reader scan`)")
    read_parser.add_argument("--json", action="store_true", help="print JSON")
    read_parser.set_defaults(_run=_lazy("drivers.cli_tag_station", "run_read"))

    write_parser = tools.add_parser(
        "write",
        help="program a tag: write the item, read back, verify",
        description="Encode an item in a tag data model, write it to the tag, read it back "
        "and compare, then set its security (AFI/EAS). Exit status 0 only when verified.",
    )
    write_parser.add_argument("url", help="the reader's device URL")
    write_parser.add_argument("uid", help="the tag's UID in hex")
    write_parser.add_argument("--item", required=True, help="the item's barcode / id")
    write_parser.add_argument("--owner", default="", help="owner library ISIL, e.g. VN-HN0001")
    write_parser.add_argument(
        "--model",
        default="iso28560-3",
        choices=["iso28560-3", "danish", "iso28560-2", "3m-rfid501"],
        help="data model to write (default iso28560-3)",
    )
    write_parser.add_argument("--part", default="1/1", help="part of a set, e.g. 2/3 (default 1/1)")
    write_parser.add_argument(
        "--shelf", default="", help="shelf location, e.g. QA268.L55 (iso28560-2 only)"
    )
    write_parser.add_argument(
        "--security",
        default="secured",
        choices=["secured", "released", "keep"],
        help="security state after writing (default secured: on the shelf)",
    )
    write_parser.add_argument(
        "--policy", default="afi", help="security policy preset: afi, eas, afi+eas, 3m"
    )
    write_parser.set_defaults(_run=_lazy("drivers.cli_tag_station", "run_write"))


def _lazy(module: str, name: str) -> Any:
    """The station tools open devices: import them only when used."""

    def call(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), name)(args))

    return call


def parse_hex(words: list[str]) -> bytes:
    text = re.sub(r"0x|[\s:,-]", "", " ".join(words), flags=re.IGNORECASE)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError("not hexadecimal: use pairs of 0-9 and A-F, e.g. '11 01 01 33'") from None


def as_json(tag: TagData) -> dict[str, Any]:
    data = asdict(tag)
    data["extensions"] = [{"block_id": e.block_id, "data": e.data.hex()} for e in tag.extensions]
    return data


def run_decode(args: argparse.Namespace) -> int:
    try:
        memory = parse_hex(args.hex)
        tag = decode(memory)
    except (ValueError, TagDataError) as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}))
        else:
            print(f"muontra tag decode: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(as_json(tag), ensure_ascii=False))
        return 0
    crc = {True: "valid", False: "WRONG (corrupt tag or misread)", None: "none in this model"}
    print(f"model            {tag.model}")
    print(f"item id          {tag.item_id}")
    print(f"owner library    {tag.owner_library or '-'}")
    print(f"part             {tag.set_index} of {tag.set_size}")
    print(f"type of usage    {tag.type_of_usage} ({USAGE.get(tag.type_of_usage, 'other')})")
    print(f"CRC              {crc[tag.crc_valid]}")
    if tag.blocks_byte_reversed:
        print("byte order       each 4-byte block reversed by the reader")
    for extension in tag.extensions:
        print(f"extension 0x{extension.block_id:04X} {extension.data.hex(' ')}")
    for oid, text in tag.elements:  # ISO 28560-2: every data element, OIDs from 15 too
        name = iso28560_2.OIDS.get(oid, "not defined")
        print(f"element {oid:<8} {name}: {text!r}")
    return 0


def run(args: argparse.Namespace) -> int:  # pragma: no cover - the tools set their own
    return int(args._run(args))
