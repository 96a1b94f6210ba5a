"""`muontra sip2 decode [FILE]`: raw SIP2 traffic, decoded for a person."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

from protocols.sip2 import SENSITIVE_FIELDS, Message, SIP2Error, decode, field_name
from protocols.sip2.framing import Framer

HELP = "decode raw SIP2 traffic (a log file or stdin, any terminator) for a person"

# Log prefixes stripped before decoding: a timestamp, an arrow or a direction word.
_PREFIX = re.compile(
    rb"^(?:\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\]?\s*)?"
    rb"(?:(?:->|<-|>>|<<|>|<|SEND|RECV|SENT|RECEIVED|REQUEST|RESPONSE|C:|S:)\s*:?\s*)?",
    re.IGNORECASE,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="file of raw traffic; stdin when absent or '-'")
    parser.add_argument("--json", action="store_true", help="one JSON object per message")
    parser.add_argument("--encoding", default="utf-8", help="text encoding (default utf-8)")
    parser.add_argument(
        "--show-patron-data",
        action="store_true",
        help="show patron ids, PINs, names and addresses (masked by default)",
    )


def _messages(data: bytes) -> Iterator[bytes]:
    framer = Framer(max_message=len(data) + 1)
    for frame in framer.feed(data + b"\n"):
        stripped = _PREFIX.sub(b"", frame.strip(), count=1)
        if stripped:
            yield stripped


def _value(field_id: str, value: str, show: bool) -> str:
    return value if show or field_id not in SENSITIVE_FIELDS or not value else "***"


def as_json(message: Message | None, raw: bytes, error: str | None, show: bool) -> dict[str, Any]:
    if message is None:
        return {"raw": raw.decode("latin-1"), "error": error}
    checksum = {True: "ok", False: "bad", None: "absent"}[message.checksum_ok]
    return {
        "command": message.command,
        "name": message.name,
        "fixed": dict(message.fixed),
        "fields": [[fid, _value(fid, value, show)] for fid, value in message.fields],
        "sequence": message.sequence,
        "checksum": checksum,
        "error": None,
    }


def as_text(message: Message, show: bool) -> list[str]:
    checksum = {True: "checksum ok", False: "CHECKSUM BAD", None: "no checksum"}[
        message.checksum_ok
    ]
    sequence = "" if message.sequence is None else f", sequence {message.sequence}"
    lines = [f"{message.command} {message.name} ({checksum}{sequence})"]
    lines += [f"  {name:<24} {value!r}" for name, value in message.fixed.items()]
    lines += [
        f"  {fid} {field_name(fid):<21} {_value(fid, value, show)}" for fid, value in message.fields
    ]
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        if args.file in (None, "-"):
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as handle:
                data = handle.read()
        "".encode(args.encoding)
    except OSError as exc:
        print(f"muontra sip2 decode: {exc}", file=sys.stderr)
        return 2
    except LookupError:
        print(f"muontra sip2 decode: unknown encoding {args.encoding!r}", file=sys.stderr)
        return 2
    bad = 0
    for raw in _messages(data):
        try:
            message: Message | None = decode(raw, args.encoding)
            error = None
        except SIP2Error as exc:
            message, error = None, str(exc)
            bad += 1
        if args.json:
            print(
                json.dumps(as_json(message, raw, error, args.show_patron_data), ensure_ascii=False)
            )
        elif message is None:
            print(f"?? cannot decode {raw[:60]!r}: {error}\n")
        else:
            print("\n".join(as_text(message, args.show_patron_data)) + "\n")
    return 1 if bad else 0
