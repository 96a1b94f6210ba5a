"""`muontra frame decode PROTOCOL HEX`: reader frames sniffed from a serial line, decoded."""

from __future__ import annotations

import argparse
import json
import sys

from drivers.cli_tag import parse_hex
from protocols.readers.feig import BadFrame, FeigFrame, decode_frames


def configure(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="frame_command", metavar="TOOL", required=True)
    decode = tools.add_parser(
        "decode",
        help="decode reader frames given in hex",
        description="Decode the frames in a hex dump of a reader's serial line: address, "
        "command, data and whether the CRC is right. Noise between frames is skipped.",
    )
    decode.add_argument("protocol", choices=["feig"], help="the reader's protocol")
    decode.add_argument("hex", nargs="+", help="bytes in hex; spaces, colons and 0x allowed")
    decode.add_argument("--json", action="store_true", help="one JSON object per frame")
    decode.set_defaults(_run=run_decode)


def _record(frame: FeigFrame | BadFrame) -> dict[str, object]:
    if isinstance(frame, BadFrame):
        return {"crc_ok": False, "raw": frame.raw.hex(), "error": frame.reason}
    return {
        "crc_ok": frame.crc_ok,
        "protocol": "feig-advanced" if frame.advanced else "feig-standard",
        "address": frame.address,
        "command": frame.command,
        "command_name": frame.command_name,
        "data": frame.data.hex(),
    }


def run_decode(args: argparse.Namespace) -> int:
    try:
        data = parse_hex(args.hex)
    except ValueError as exc:
        print(f"muontra frame decode: {exc}", file=sys.stderr)
        return 2
    frames = decode_frames(data)
    for frame in frames:
        record = _record(frame)
        if args.json:
            print(json.dumps(record))
        elif isinstance(frame, BadFrame):
            print(f"✗ bad frame ({frame.reason}): {frame.raw.hex(' ')}")
        else:
            mark = "✓" if frame.crc_ok else "✗ CRC WRONG"
            print(
                f"{mark} address {frame.address} command 0x{frame.command:02X} "
                f"{frame.command_name}: {frame.data.hex(' ') or '(no data)'}"
            )
    if not frames:
        print("muontra frame decode: no frame found", file=sys.stderr)
        return 1
    return 0 if all(not isinstance(f, BadFrame) and f.crc_ok for f in frames) else 1


def run(args: argparse.Namespace) -> int:  # pragma: no cover - the tools set their own
    return int(args._run(args))
