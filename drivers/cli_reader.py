"""`muontra reader scan URL`: a live inventory for installers and staff.

Shows every tag in the field — UID, data model, item id, owner, part of set,
AFI and EAS — refreshed each round until Ctrl-C. A tag's memory is read once
and remembered by UID, so a full pad refreshes at the reader's inventory rate.
An unplugged reader is reported and the scan goes on once it is back.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from drivers.interfaces import DeviceError, DeviceUnavailable, TagError, TagReader
from drivers.registry import DeviceUrlError, open_device
from drivers.tag_memory import TagRead, read_tag

T = TypeVar("T")
NOT_SUPPORTED = 0x01
"""ISO 15693 error code "command not supported", also raised by readers that cannot send it."""


def configure(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="reader_command", metavar="TOOL", required=True)
    scan = tools.add_parser(
        "scan",
        help="live inventory of the tags in a reader's field",
        description="Inventory the reader's field again and again and show each tag: UID, "
        "data model, item id, owner library, part of set, AFI and EAS. Ctrl-C stops.",
    )
    scan.add_argument("url", help="device URL, e.g. sim://pad, feig+serial:///dev/ttyUSB0")
    scan.add_argument("--interval", type=float, default=0.5, help="seconds between rounds")
    scan.add_argument("--rounds", type=int, default=0, help="stop after N rounds (0: never)")
    scan.add_argument("--json", action="store_true", help="one JSON object per tag and round")
    scan.set_defaults(_run=run_scan)


def _row(uid: bytes, afi: int | None, eas: bool | None, read: TagRead | None) -> dict[str, object]:
    row: dict[str, object] = {"uid": uid.hex().upper(), "afi": afi, "eas": eas}
    tag = read.tag if read else None
    if tag is not None:
        row.update(
            model=tag.model,
            item_id=tag.item_id,
            owner=tag.owner_library,
            part=f"{tag.set_index}/{tag.set_size}",
            crc_valid=tag.crc_valid,
        )
    else:
        row.update(model=None, error=read.error if read else "not read yet")
    return row


def _print_table(rows: list[dict[str, object]], round_number: int, clear: bool) -> None:
    if clear:
        print("\x1b[H\x1b[2J", end="")
    print(f"round {round_number}: {len(rows)} tag(s)")
    print(f"{'UID':16}  {'model':11} {'item id':16} {'owner':13} {'part':5} {'AFI':4} EAS")
    for row in rows:
        afi = f"{row['afi']:02X}" if isinstance(row["afi"], int) else "--"
        eas = {True: "on", False: "off", None: "--"}[row["eas"]]  # type: ignore[index]
        if row["model"] is None:
            print(f"{row['uid']:16}  {'?':11} ({row['error']})")
            continue
        print(
            f"{row['uid']:16}  {row['model']!s:11} {row['item_id']!s:16} "
            f"{row['owner'] or '-'!s:13} {row['part']!s:5} {afi:4} {eas}"
        )
    sys.stdout.flush()


def _scan_round(reader: TagReader, cache: dict[bytes, TagRead]) -> list[dict[str, object]]:
    rows = []
    for seen in reader.inventory():
        read = cache.get(seen.uid)
        afi: int | None = seen.afi
        eas: bool | None = None
        try:
            if read is None or afi is None:
                info = _unless_unsupported(reader.system_info, seen.uid)
                if info is not None and afi is None:
                    afi = info.afi
                if read is None:
                    count = info.block_count if info is not None else None
                    read = cache[seen.uid] = read_tag(reader, seen.uid, count)
            eas = _unless_unsupported(reader.eas_alarm, seen.uid)
        except DeviceUnavailable:
            raise
        except DeviceError:
            pass  # left the field mid-read: shown now, completed next round
        rows.append(_row(seen.uid, afi, eas, read))
    return rows


def _unless_unsupported(call: Callable[[bytes], T], uid: bytes) -> T | None:
    """The call's answer, or None where the reader cannot make it at all (a PC/SC reader
    with the storage-card commands only has no AFI, EAS or system information): the
    tag's data is still worth showing, and "--" says unknown, not "released"."""
    try:
        return call(uid)
    except TagError as error:
        if error.code != NOT_SUPPORTED:
            raise
        return None


def run_scan(args: argparse.Namespace) -> int:
    try:
        reader: TagReader = open_device(args.url)
    except DeviceUrlError as error:
        print(f"muontra reader scan: {error}", file=sys.stderr)
        return 2
    cache: dict[bytes, TagRead] = {}
    clear = sys.stdout.isatty() and not args.json
    round_number = 0
    try:
        while not args.rounds or round_number < args.rounds:
            round_number += 1
            try:
                rows = _scan_round(reader, cache)
            except DeviceError as error:
                print(f"reader unavailable ({error}); retrying…", file=sys.stderr)
                time.sleep(max(args.interval, 1.0))
                continue
            if args.json:
                for row in rows:
                    print(json.dumps({"round": round_number, **row}, ensure_ascii=False))
                sys.stdout.flush()
            else:
                _print_table(rows, round_number, clear)
            if not args.rounds or round_number < args.rounds:
                time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
    return 0


def run(args: argparse.Namespace) -> int:  # pragma: no cover - the tools set their own
    return int(args._run(args))
