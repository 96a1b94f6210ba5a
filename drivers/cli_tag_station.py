"""`muontra tag read` and `muontra tag write`: a tag programming station on any reader."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable

from drivers.cli_tag import as_json, parse_hex
from drivers.interfaces import DeviceError, TagReader
from drivers.registry import DeviceUrlError, open_device
from drivers.security import read_security, set_security
from drivers.tag_memory import read_tag
from protocols.tags import PRESETS, TagData, TagDataError, encode


def _uid(text: str) -> bytes:
    uid = parse_hex([text])
    if len(uid) != 8:
        raise ValueError(f"a UID has 8 bytes (16 hex digits), not {len(uid)}")
    return uid


_opened: list[TagReader] = []


def _open(url: str) -> TagReader:
    reader: TagReader = open_device(url)
    _opened.append(reader)  # closed when the tool ends, so the port is free for the next one
    reader.open()
    return reader


def _closing(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        finally:
            while _opened:
                _opened.pop().close()

    return wrapper


@_closing
def run_read(args: argparse.Namespace) -> int:
    try:
        uid = _uid(args.uid)
        reader = _open(args.url)
        info = reader.system_info(uid)
        read = read_tag(reader, uid, info.block_count)
        eas = reader.eas_alarm(uid)
    except (ValueError, DeviceUrlError, DeviceError) as error:
        print(f"muontra tag read: {error}", file=sys.stderr)
        return 1
    if args.json:
        record = {
            "uid": uid.hex().upper(),
            "afi": info.afi,
            "dsfid": info.dsfid,
            "eas": eas,
            "blocks": info.block_count,
            "block_size": info.block_size,
            "memory": read.memory.hex().upper(),
            "tag": as_json(read.tag) if read.tag else None,
            "error": read.error or None,
        }
        print(json.dumps(record, ensure_ascii=False))
        return 0 if read.tag else 1
    print(f"UID              {uid.hex().upper()}")
    print(f"AFI              0x{info.afi:02X}   EAS {'set' if eas else 'not set'}")
    print(f"memory           {info.block_count} blocks of {info.block_size} bytes")
    if read.tag is None:
        print(f"content          cannot be decoded: {read.error}")
        return 1
    tag = read.tag
    print(f"model            {tag.model}")
    print(f"item id          {tag.item_id}")
    print(f"owner library    {tag.owner_library or '-'}")
    print(f"part             {tag.set_index} of {tag.set_size}")
    return 0


def _part(text: str) -> tuple[int, int]:
    index, _, size = text.partition("/")
    try:
        part, parts = int(index), int(size or "1")
    except ValueError:
        raise ValueError(f"--part wants N/M, e.g. 2/3, not {text!r}") from None
    if not 1 <= part <= parts:
        raise ValueError(f"--part {text}: the part number must be between 1 and {parts}")
    return part, parts


SHELF_LOCATION = 6
"""ISO 28560-2 relative OID of the shelf location."""


def _clear_after(reader: TagReader, uid: bytes, first: int, count: int, block: int) -> int | None:
    """Zero what an earlier programming left after the new data: how many blocks, None when
    the tag did not keep the zeros.

    Decoders that stop at the 0x00 ending ISO 28560-2 data do not need it; others read on
    (HelMet's decoder parses the whole memory, so a stale owner element after the new data
    would be taken as the tag's), and an ISO 28560-3 reader would take stale bytes after the
    basic block for extension blocks. Blocks already zero are not written again. (Not for
    3M RFID501 tags, whose memory beyond the data is the maker's business.)
    """
    if count <= first:
        return 0
    old = reader.read_blocks(uid, first, count - first)
    dirty = [n for n in range(count - first) if any(old[n * block : (n + 1) * block])]
    if not dirty:
        return 0
    start, end = first + dirty[0], first + dirty[-1] + 1
    zeros = bytes((end - start) * block)
    reader.write_blocks(uid, start, zeros)
    return end - start if reader.read_blocks(uid, start, end - start) == zeros else None


@_closing
def run_write(args: argparse.Namespace) -> int:
    try:
        uid = _uid(args.uid)
        part, parts = _part(args.part)
        policy = PRESETS[args.policy]
        if args.shelf and args.model != "iso28560-2":
            raise ValueError(
                f"--shelf: only the iso28560-2 model holds a shelf location, not {args.model}"
            )
        tag = TagData(
            model=args.model,
            item_id=args.item,
            owner_library=args.owner,
            set_size=parts,
            set_index=part,
            elements=((SHELF_LOCATION, args.shelf),) if args.shelf else (),
        )
        memory = encode(tag)
        reader = _open(args.url)
        info = reader.system_info(uid)
    except KeyError:
        print(
            f"muontra tag write: unknown --policy; use one of {', '.join(PRESETS)}", file=sys.stderr
        )
        return 2
    except (ValueError, TagDataError, DeviceUrlError, DeviceError) as error:
        print(f"muontra tag write: {error}", file=sys.stderr)
        return 1
    block = info.block_size
    memory += b"\0" * (-len(memory) % block)
    if len(memory) > info.block_count * block:
        print(
            f"muontra tag write: {len(memory)} bytes do not fit the tag's "
            f"{info.block_count * block}",
            file=sys.stderr,
        )
        return 1
    used = len(memory) // block
    cleared: int | None = 0
    try:
        reader.write_blocks(uid, 0, memory)
        back = reader.read_blocks(uid, 0, used)
        if back == memory and args.model != "3m-rfid501":  # 3M's layout is its own: left be
            cleared = _clear_after(reader, uid, used, info.block_count, block)
    except DeviceError as error:
        print(f"muontra tag write: FAILED while writing: {error}", file=sys.stderr)
        return 1
    if back != memory or cleared is None:
        print("muontra tag write: FAILED: the tag did not keep what was written", file=sys.stderr)
        return 1
    print(f"written and verified: {args.model} item {args.item} ({used} blocks)")
    if cleared:
        print(f"old data cleared after it: {cleared} blocks")
    if args.security != "keep":
        result = set_security(reader, uid, policy, secured=args.security == "secured")
        if not result.verified:
            print(f"muontra tag write: security NOT set: {result.reason}", file=sys.stderr)
            return 1
        afi, eas = read_security(reader, uid, policy)
        state = f"AFI 0x{afi:02X}" if afi is not None else ""
        if eas is not None:
            state += f" EAS {'set' if eas else 'off'}"
        print(f"security {args.security} and verified: {state.strip()}")
    return 0
