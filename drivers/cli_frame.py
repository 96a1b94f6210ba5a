"""`muontra frame decode PROTOCOL HEX`: reader frames sniffed from a serial line, decoded."""

from __future__ import annotations

import argparse
import json
import sys

from drivers.cli_tag import parse_hex
from protocols.readers import feig, feig_iso, threem
from protocols.readers.resync import BadFrame


def configure(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="frame_command", metavar="TOOL", required=True)
    decode = tools.add_parser(
        "decode",
        help="decode reader frames given in hex",
        description="Decode the frames in a hex dump of a reader's serial line: command, "
        "its fields, and whether the CRC is right. Noise between frames is skipped. "
        "PROTOCOL is feig (FEIG ISC advanced or standard protocol) or 3m (3M / Bibliotheca "
        "210 and 810 pads).",
    )
    decode.add_argument("protocol", choices=["feig", "3m"], help="the reader's protocol")
    decode.add_argument("hex", nargs="+", help="bytes in hex; spaces, colons and 0x allowed")
    decode.add_argument("--json", action="store_true", help="one JSON object per frame")
    decode.set_defaults(_run=run_decode)


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _feig_record(frame: feig.FeigFrame) -> dict[str, object]:
    record: dict[str, object] = {
        "crc_ok": frame.crc_ok,
        "protocol": "feig-advanced" if frame.advanced else "feig-standard",
        "address": frame.address,
        "command": frame.command,
        "command_name": frame.command_name,
        "data": frame.data.hex(),
    }
    request = feig_iso.parse_request(frame)
    if request is not None:
        record["direction"] = "request"
        sub = frame.data[0]
        names = feig.NXP_COMMANDS if frame.command == feig_iso.NXP else feig.ISO_HOST_COMMANDS
        name = names.get(sub, f"0x{sub:02X}")
        record["command_name"] = f"{feig.COMMANDS.get(frame.command, '')} / {name}"
        record["fields"] = _plain(request)
    elif frame.data:
        record["direction"] = "answer"
        record["status"] = feig_iso.STATUS.get(frame.data[0], f"0x{frame.data[0]:02X}")
    return record


def _threem_record(frame: threem.ThreeMFrame) -> dict[str, object]:
    record: dict[str, object] = {
        "crc_ok": frame.crc_ok,
        "protocol": "3m",
        "start": frame.start,
        "command": frame.command,
        "command_name": frame.command_name,
        "data": frame.body.hex(),
    }
    request = threem.request_fields(frame) if threem.looks_like_request(frame) else None
    if request is not None:
        record.update(direction="request", fields=_plain(request))
        return record
    try:
        answer = threem.parse_answer(frame)
    except threem.ThreeMError as error:
        record.update(direction="unknown", error=str(error))
        return record
    record.update(direction="answer", error=answer.error_text, fields=_plain(answer.fields))
    if answer.uid is not None:
        record["uid"] = answer.uid.hex().upper()
    return record


def _records(protocol: str, data: bytes) -> list[dict[str, object]]:
    frames: list[object] = list(
        feig.decode_frames(data) if protocol == "feig" else threem.decode_frames(data)
    )
    records = []
    for frame in frames:
        if isinstance(frame, BadFrame):
            records.append({"crc_ok": False, "raw": frame.raw.hex(), "error": frame.reason})
        elif isinstance(frame, feig.FeigFrame):
            records.append(_feig_record(frame))
        elif isinstance(frame, threem.ThreeMFrame):
            records.append(_threem_record(frame))
    return records


def run_decode(args: argparse.Namespace) -> int:
    try:
        data = parse_hex(args.hex)
    except ValueError as exc:
        print(f"muontra frame decode: {exc}", file=sys.stderr)
        return 2
    records = _records(args.protocol, data)
    for record in records:
        if args.json:
            print(json.dumps(record))
        elif "command" not in record:
            print(f"✗ bad frame ({record['error']}): {record['raw']}")
        else:
            mark = "✓" if record["crc_ok"] else "✗ CRC WRONG"
            direction = record.get("direction", "")
            line = f"{mark} {direction} 0x{record['command']:02X} {record['command_name']}"
            details = record.get("fields") or record.get("status") or record["data"] or ""
            error = record.get("error")
            if error and error != "no error":
                line += f" [{error}]"
            print(f"{line}: {details}")
    if not records:
        print("muontra frame decode: no frame found", file=sys.stderr)
        return 1
    return 0 if all(record["crc_ok"] for record in records) else 1


def run(args: argparse.Namespace) -> int:  # pragma: no cover - the tools set their own
    return int(args._run(args))
