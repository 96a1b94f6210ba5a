"""`muontra tag …`: RFID tag tools for installers (decode memory dumps)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict
from typing import Any

from protocols.tags import TagData, TagDataError, decode

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
    return 0


def run(args: argparse.Namespace) -> int:  # pragma: no cover - the tools set their own
    return int(args._run(args))
