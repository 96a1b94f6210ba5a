"""``3m+serial:///dev/ttyUSB1?baud=19200``: a 3M / Bibliotheca 210 or 810 pad reader.

Speaks the 0xD6 serial protocol of :mod:`protocols.readers.threem` (19200 8N1)
through :class:`SerialLink`, which handles unplugging and timeouts. Reads are
split into runs of at most ``max_blocks`` blocks (8 by default: what older
810 firmware answers in one frame). ``afi_filter=no`` tells a gate not to ask
for the secured AFI in its inventories.
"""

from __future__ import annotations

from drivers.interfaces import TagError, TagInfo, TagNotFound, TagSeen
from drivers.registry import DeviceUrl, parse_url
from drivers.serial_link import LinkedReader, SerialLink
from protocols.readers import threem
from protocols.readers.threem import ThreeMFrame, ThreeMParser


class ThreeMReader(LinkedReader):
    filters_afi = True
    """``inventory(afi=…)`` puts the AFI flag on the air: only tags of that family answer."""

    def __init__(self, url: DeviceUrl | str) -> None:
        parts = parse_url(url) if isinstance(url, str) else url
        self.url = parts.raw
        self.max_blocks = parts.integer("max_blocks", 8)
        # afi_filter=no: firmware that refuses the AFI flag (and the bench's "before").
        self.filters_afi = parts.flag("afi_filter", True)
        self.link = SerialLink(
            parts.target,
            baudrate=parts.integer("baud", 19200),
            timeout=parts.number("timeout", 1.0),
        )
        self.block_size = 4

    def _ask(self, request: ThreeMFrame) -> threem.Answer:
        frame = self.link.exchange(
            request.encode(),
            ThreeMParser(),
            lambda f: isinstance(f, ThreeMFrame) and f.command == request.command,
        )
        return threem.parse_answer(frame)

    def _checked(self, answer: threem.Answer, uid: bytes) -> threem.Answer:
        if answer.error == threem.NO_TRANSPONDER:
            raise TagNotFound(f"tag {uid.hex().upper()} did not answer")
        if not answer.ok:
            raise TagError(f"reader: {answer.error_text}", answer.error)
        return answer

    def inventory(self, afi: int | None = None) -> list[TagSeen]:
        # The frame always carries an AFI byte: 0 asks every tag, as ISO 15693 does.
        answer = self._ask(threem.inventory(afi or 0))
        if not answer.ok:
            raise TagError(f"inventory: {answer.error_text}", answer.error)
        tags = answer.fields["tags"]
        assert isinstance(tags, list)
        seen: dict[bytes, TagSeen] = {}
        for dsfid, uid in tags:  # a tag that missed the quiet command is listed twice
            seen.setdefault(uid, TagSeen(uid=uid, dsfid=dsfid))
        return list(seen.values())

    def system_info(self, uid: bytes) -> TagInfo:
        answer = self._checked(self._ask(threem.tag_info(uid)), uid)
        return TagInfo(
            uid,
            answer.number("dsfid", 0),
            answer.number("afi", 0),
            answer.number("block_size", 4),
            answer.number("block_count", 0),
            answer.number("ic_reference", 0),
        )

    def read_blocks(self, uid: bytes, first: int, count: int) -> bytes:
        out = bytearray()
        block = first
        while block < first + count:
            run = min(self.max_blocks, first + count - block)
            answer = self._checked(self._ask(threem.read_blocks(uid, block, run)), uid)
            data = answer.fields["data"]
            assert isinstance(data, bytes)
            locks = answer.fields["locks"]
            assert isinstance(locks, list)
            failed = [lock for lock in locks if lock > 0x03]
            if failed:
                raise TagError(f"block read error 0x{failed[0]:02X}", failed[0])
            out += data
            block += run
        return bytes(out)

    def write_blocks(self, uid: bytes, first: int, data: bytes) -> None:
        self._checked(self._ask(threem.write_blocks(uid, first, data, self.block_size)), uid)

    def write_afi(self, uid: bytes, afi: int) -> None:
        self._checked(self._ask(threem.write_afi(uid, afi)), uid)

    def lock_afi(self, uid: bytes) -> None:
        self._checked(self._ask(threem.lock_afi(uid)), uid)

    def set_eas(self, uid: bytes) -> None:
        self._checked(self._ask(threem.eas_control(uid, True)), uid)

    def reset_eas(self, uid: bytes) -> None:
        self._checked(self._ask(threem.eas_control(uid, False)), uid)

    def eas_alarm(self, uid: bytes | None = None) -> bool:
        if uid is None:
            # The 3M protocol has only the addressed check: ask every tag in the field.
            return any(self.eas_alarm(tag.uid) for tag in self.inventory())
        answer = self._ask(threem.check_eas(uid))
        # Only tags with EAS set answer: "no transponder" means EAS 0 (the specification says so).
        return bool(answer.ok and answer.fields.get("eas"))
