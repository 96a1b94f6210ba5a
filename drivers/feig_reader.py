"""``feig+serial:///dev/ttyUSB0?baud=38400&bus=255&protocol=advanced``: a FEIG ISC reader.

Speaks FEIG's host mode (ISO 15693 host commands 0xB0, NXP custom commands
0xB1) through :class:`SerialLink`, which handles unplugging and timeouts.
``protocol=standard`` uses the one-byte-length frames of older readers
(CPR-M02, ISC.MR100 in their default setting); ``bus`` is the reader's bus
address (255 answers to any).
"""

from __future__ import annotations

import logging

from drivers.interfaces import TagError, TagInfo, TagNotFound, TagSeen
from drivers.registry import DeviceUrl, parse_url
from drivers.serial_link import LinkedReader, SerialLink
from protocols.readers import feig_iso
from protocols.readers.feig import FeigFrame, FeigParser, decode_frames

log = logging.getLogger(__name__)


class _StandardParser:
    """Standard-protocol frames (no start byte): one frame per answer, length first."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[object]:
        self._buffer += data
        if not self._buffer or len(self._buffer) < self._buffer[0]:
            return []
        length = self._buffer[0]
        frame, self._buffer = bytes(self._buffer[:length]), self._buffer[length:]
        return list(decode_frames(frame))


class FeigReader(LinkedReader):
    def __init__(self, url: DeviceUrl | str) -> None:
        parts = parse_url(url) if isinstance(url, str) else url
        self.url = parts.raw
        self.address = parts.integer("bus", 0xFF)
        self.advanced = parts.params.get("protocol", "advanced") != "standard"
        self.link = SerialLink(
            parts.target,
            baudrate=parts.integer("baud", 38400),
            timeout=parts.number("timeout", 1.0),
            parity=parts.params.get("parity", "E")[:1].upper(),
        )
        self.block_size = 4

    def _ask(self, request: FeigFrame, sub: int) -> feig_iso.IsoAnswer:
        if not self.advanced:
            request = FeigFrame(request.address, request.command, request.data, advanced=False)
        parser = FeigParser() if self.advanced else _StandardParser()
        frame = self.link.exchange(
            request.encode(),
            parser,
            lambda f: isinstance(f, FeigFrame) and f.command == request.command,
        )
        return feig_iso.parse_answer(sub, frame)

    def _checked(self, answer: feig_iso.IsoAnswer, uid: bytes) -> feig_iso.IsoAnswer:
        if answer.status == feig_iso.NO_TRANSPONDER:
            raise TagNotFound(f"tag {uid.hex().upper()} did not answer")
        if not answer.ok:
            raise TagError(f"reader: {answer.status_text}", answer.iso_error)
        return answer

    def inventory(self) -> list[TagSeen]:
        answer = self._ask(feig_iso.inventory(self.address), feig_iso.INVENTORY)
        if answer.status == feig_iso.NO_TRANSPONDER:
            return []
        if not answer.ok:
            raise TagError(f"inventory: {answer.status_text}", answer.iso_error)
        tags = answer.fields["tags"]
        assert isinstance(tags, list)
        return [TagSeen(uid=uid, dsfid=dsfid) for dsfid, uid in tags]

    def system_info(self, uid: bytes) -> TagInfo:
        request = feig_iso.system_info(uid, self.address)
        answer = self._checked(self._ask(request, feig_iso.SYSTEM_INFO), uid)
        return TagInfo(
            uid,
            answer.number("dsfid"),
            answer.number("afi"),
            answer.number("block_size"),
            answer.number("block_count"),
            answer.number("ic_reference"),
        )

    def read_blocks(self, uid: bytes, first: int, count: int) -> bytes:
        request = feig_iso.read_blocks(uid, first, count, self.address)
        answer = self._checked(self._ask(request, feig_iso.READ_BLOCKS), uid)
        data = answer.fields["data"]
        assert isinstance(data, bytes)
        return data

    def write_blocks(self, uid: bytes, first: int, data: bytes) -> None:
        request = feig_iso.write_blocks(uid, first, data, self.block_size, self.address)
        self._checked(self._ask(request, feig_iso.WRITE_BLOCKS), uid)

    def write_afi(self, uid: bytes, afi: int) -> None:
        self._checked(
            self._ask(feig_iso.write_afi(uid, afi, self.address), feig_iso.WRITE_AFI), uid
        )

    def lock_afi(self, uid: bytes) -> None:
        self._checked(self._ask(feig_iso.lock_afi(uid, self.address), feig_iso.LOCK_AFI), uid)

    def set_eas(self, uid: bytes) -> None:
        self._checked(
            self._ask(feig_iso.nxp(feig_iso.SET_EAS, uid, self.address), feig_iso.SET_EAS), uid
        )

    def reset_eas(self, uid: bytes) -> None:
        request = feig_iso.nxp(feig_iso.RESET_EAS, uid, self.address)
        self._checked(self._ask(request, feig_iso.RESET_EAS), uid)

    def eas_alarm(self, uid: bytes | None = None) -> bool:
        answer = self._ask(feig_iso.nxp(feig_iso.EAS_ALARM, uid, self.address), feig_iso.EAS_ALARM)
        # Only tags with EAS set answer the alarm command: silence means "not set" (or not there).
        return answer.ok
