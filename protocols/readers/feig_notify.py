"""FEIG notification mode: the reader runs its own inventory rounds and pushes new tags.

In host mode every round is a request and an answer on the serial line, so a
round costs the line time of both on top of the air time, and a tag arriving
just after a round started waits for the host's next request. In notification
mode the reader loops its rounds at air speed on its own and sends a frame only
when a round finds a tag it did not see in the round before: the line carries
news, not polls.

Layouts, as modelled here (FEIG keeps the operating mode in its configuration
blocks; the exact block and bit positions are to be confirmed against the
reader's manual before a real reader is switched by this code):

- switch: *write configuration* (0x81), ``CFG-ADR, 14 configuration bytes``
  with CFG-ADR ``0x01`` (the operating-mode block); byte 0 is the mode (0x00
  host, 0x80 notification), byte 1 bit 0 says an AFI filter is set, bit 1 asks
  for one-slot rounds (a collision falls back to 16 slots), byte 2 is the AFI.
  The answer is ``STATUS``.
- notification: command 0x22 (the buffered-read record, pushed unasked),
  ``STATUS, TR-DATA (0x01: UID records), DATA-SETS (2 bytes, MSB first),
  {TR-TYPE, DSFID, UID(8)}`` — the same record as the inventory answer.

Sans-IO: bytes and frames only.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.readers.feig import FeigFrame
from protocols.readers.feig_iso import TR_TYPE_ISO15693, FeigIsoError

WRITE_CONFIG = 0x81
NOTIFICATION = 0x22
CFG_OPERATING_MODE = 0x01
CONFIG_BYTES = 14
MODE_HOST = 0x00
MODE_NOTIFY = 0x80
AFI_SET = 0x01
SINGLE_SLOT = 0x02
TR_DATA_UID = 0x01
RECORD = 10


@dataclass(frozen=True, slots=True)
class Mode:
    notify: bool
    afi: int | None
    """Set: the reader's own rounds carry the AFI flag, so only that family answers."""
    single_slot: bool = False
    """One-slot rounds: a quarter of the air time where at most one tag answers."""


def set_mode(mode: Mode, address: int = 0xFF) -> FeigFrame:
    """The write-configuration request that switches the reader's operating mode."""
    config = bytearray(CONFIG_BYTES)
    config[0] = MODE_NOTIFY if mode.notify else MODE_HOST
    if mode.afi is not None:
        if not 0 <= mode.afi <= 0xFF:
            raise FeigIsoError(f"an AFI is one byte, not {mode.afi}")
        config[1] = AFI_SET
        config[2] = mode.afi
    if mode.single_slot:
        config[1] |= SINGLE_SLOT
    return FeigFrame(address, WRITE_CONFIG, bytes([CFG_OPERATING_MODE]) + bytes(config))


def parse_set_mode(frame: FeigFrame) -> Mode | None:
    """The mode a write-configuration request asks for; None if it is not one we know."""
    data = frame.data
    if frame.command != WRITE_CONFIG or len(data) != 1 + CONFIG_BYTES:
        return None
    if data[0] != CFG_OPERATING_MODE or data[1] not in (MODE_HOST, MODE_NOTIFY):
        return None
    afi = data[3] if data[2] & AFI_SET else None
    return Mode(data[1] == MODE_NOTIFY, afi, bool(data[2] & SINGLE_SLOT))


def notification(tags: list[tuple[int, bytes]], address: int = 0xFF) -> FeigFrame:
    """A pushed frame: the tags (DSFID, UID) a round found that the round before had not."""
    if len(tags) > 0xFFFF:
        raise FeigIsoError("too many records for one notification")
    out = bytearray([0x00, TR_DATA_UID, len(tags) >> 8, len(tags) & 0xFF])
    for dsfid, uid in tags:
        if len(uid) != 8:
            raise FeigIsoError(f"a UID has 8 bytes, not {len(uid)}")
        out += bytes([TR_TYPE_ISO15693, dsfid]) + uid
    return FeigFrame(address, NOTIFICATION, bytes(out))


def parse_notification(frame: FeigFrame) -> list[tuple[int, bytes]]:
    """The (DSFID, UID) records of a notification; other transponder types are skipped."""
    data = frame.data
    if frame.command != NOTIFICATION:
        raise FeigIsoError(f"command 0x{frame.command:02X} is not a notification")
    if len(data) < 4:
        raise FeigIsoError("notification lacks STATUS, TR-DATA and DATA-SETS")
    status, tr_data, count = data[0], data[1], data[2] << 8 | data[3]
    if status != 0x00:
        raise FeigIsoError(f"notification with status 0x{status:02X}")
    if tr_data != TR_DATA_UID:
        raise FeigIsoError(f"notification TR-DATA 0x{tr_data:02X}: only UID records are known")
    records = data[4:]
    if len(records) != count * RECORD:
        raise FeigIsoError(f"notification has {len(records)} bytes for {count} records of {RECORD}")
    tags = []
    for index in range(count):
        record = records[index * RECORD : (index + 1) * RECORD]
        if record[0] == TR_TYPE_ISO15693:
            tags.append((record[1], bytes(record[2:])))
    return tags


def mode_answer(request: FeigFrame, status: int = 0x00) -> FeigFrame:
    return FeigFrame(request.address, request.command, bytes([status]), advanced=request.advanced)
