"""``feig+serial:///dev/ttyUSB0?baud=38400&bus=255&protocol=advanced``: a FEIG ISC reader.

Speaks FEIG's host mode (ISO 15693 host commands 0xB0, NXP custom commands
0xB1) through :class:`SerialLink`, which handles unplugging and timeouts.
``protocol=standard`` uses the one-byte-length frames of older readers
(CPR-M02, ISC.MR100 in their default setting); ``bus`` is the reader's bus
address (255 answers to any). ``afi_filter=no`` tells a gate not to put the AFI
flag in its inventories (for firmware that refuses it). ``mode=notify`` lets a
gate switch the reader to notification mode (protocols/readers/feig_notify.py):
the reader runs its own rounds and pushes new tags, the host polls no more.
Host commands keep working in that mode; frames pushed while one is answered
are kept for :meth:`FeigReader.notifications`, never dropped. Its AFI-filtered
rounds are one-slot rounds (a secured tag passing the gate is rarely in company;
two collide and the reader runs 16 slots): ``slots=16`` keeps 16-slot rounds.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from drivers.interfaces import (
    DeviceState,
    DeviceUnavailable,
    TagError,
    TagInfo,
    TagNotFound,
    TagSeen,
)
from drivers.registry import DeviceUrl, parse_url
from drivers.serial_link import LinkedReader, SerialLink
from protocols.readers import feig_iso, feig_notify
from protocols.readers.feig import FeigFrame, FeigParser, decode_frames

log = logging.getLogger(__name__)

PENDING = 4096
"""Pushed frames kept while the gate is busy elsewhere (each holds only new tags)."""
STALE = 1.0
"""Seconds after which a kept pushed frame is old news (the tag may be long gone): a gate
that polled meanwhile (an item reported missing) has heard those tags itself."""


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
    filters_afi = True
    """``inventory(afi=…)`` puts the AFI flag on the air: only tags of that family answer."""
    unaddressed_eas = True
    """``eas_alarm(None)`` is one command answered by any tag with its EAS bit set."""

    def __init__(self, url: DeviceUrl | str) -> None:
        parts = parse_url(url) if isinstance(url, str) else url
        self.url = parts.raw
        self.address = parts.integer("bus", 0xFF)
        # afi_filter=no: firmware that refuses the AFI flag (and the bench's "before").
        self.filters_afi = parts.flag("afi_filter", True)
        self.advanced = parts.params.get("protocol", "advanced") != "standard"
        self.link = SerialLink(
            parts.target,
            baudrate=parts.integer("baud", 38400),
            timeout=parts.number("timeout", 1.0),
            parity=parts.params.get("parity", "E")[:1].upper(),
        )
        self.block_size = 4
        self.notifies = parts.params.get("mode", "host") == "notify" and self.advanced
        """The gate may switch this reader to notification mode (advanced protocol only)."""
        self.single_slot = parts.integer("slots", 1) == 1
        self._parser = FeigParser()
        """Kept across calls in notification mode: a pushed frame may straddle two reads."""
        self._pending: deque[tuple[float, FeigFrame]] = deque(maxlen=PENDING)
        """Pushed frames not yet handed out, with when they arrived."""
        self._mode: feig_notify.Mode | None = None
        """The mode this link last set; None: unknown (not set yet, or the link was lost)."""

    def _exchange(self, request: FeigFrame) -> FeigFrame:
        if not self.advanced:
            request = FeigFrame(request.address, request.command, request.data, advanced=False)
        accept = lambda f: isinstance(f, FeigFrame) and f.command == request.command  # noqa: E731
        try:
            if self._mode is not None and self._mode.notify:
                frame = self.link.exchange(request.encode(), self._parser, accept, aside=self._keep)
            else:
                parser = FeigParser() if self.advanced else _StandardParser()
                frame = self.link.exchange(request.encode(), parser, accept)
        except DeviceUnavailable:
            self._forget_mode()
            raise
        assert isinstance(frame, FeigFrame)
        return frame

    def _ask(self, request: FeigFrame, sub: int) -> feig_iso.IsoAnswer:
        return feig_iso.parse_answer(sub, self._exchange(request))

    def _keep(self, frame: FeigFrame) -> None:
        self._pending.append((time.monotonic(), frame))

    def _forget_mode(self) -> None:
        self._mode = None
        self._parser = FeigParser()
        self._pending.clear()

    def set_mode(self, mode: feig_notify.Mode) -> None:
        """Switch the reader's operating mode (notification with its AFI filter, or host)."""
        if mode.notify and not self.notifies:
            raise TagError(f"{self.url}: notification mode is not configured (mode=notify)")
        if self._mode is None or not self._mode.notify:
            self._parser = FeigParser()
        self._mode = mode  # pushed frames may follow the answer at once: keep them
        try:
            answer = self._exchange(feig_notify.set_mode(mode, self.address))
        except Exception:
            self._mode = None
            raise
        if answer.data[:1] != b"\x00":
            self._mode = None
            status = answer.data[0] if answer.data else -1
            raise TagError(f"{self.url}: the reader refused the mode (status 0x{status:02X})")

    def notifications(self, afi: int | None, timeout: float) -> list[TagSeen]:
        """The tags the reader's own rounds found new, waiting up to ``timeout`` for some.

        Switches the reader to notification mode with ``afi`` first when it is not in
        it (first call, another AFI, or the link was lost and came back)."""
        wanted = feig_notify.Mode(True, afi, single_slot=afi is not None and self.single_slot)
        if self._mode != wanted or self.link.state is not DeviceState.READY:
            self._forget_mode()
            self.set_mode(wanted)
        if not self._pending:
            try:
                for frame in self.link.receive(self._parser, timeout):
                    self._keep(frame)
            except DeviceUnavailable:
                self._forget_mode()
                raise
        tags: list[TagSeen] = []
        now = time.monotonic()
        while self._pending:
            arrived, frame = self._pending.popleft()
            if frame.command != feig_notify.NOTIFICATION:
                continue  # a late answer to a request that timed out
            if now - arrived > STALE:
                log.debug("%s: a pushed frame %.1f s old dropped", self.url, now - arrived)
                continue
            try:
                records = feig_notify.parse_notification(frame)
            except feig_iso.FeigIsoError as error:
                log.warning("%s: notification not understood: %s", self.url, error)
                continue
            tags += [TagSeen(uid=uid, dsfid=dsfid) for dsfid, uid in records]
        return tags

    def _checked(self, answer: feig_iso.IsoAnswer, uid: bytes) -> feig_iso.IsoAnswer:
        if answer.status == feig_iso.NO_TRANSPONDER:
            raise TagNotFound(f"tag {uid.hex().upper()} did not answer")
        if not answer.ok:
            raise TagError(f"reader: {answer.status_text}", answer.iso_error)
        return answer

    def inventory(self, afi: int | None = None) -> list[TagSeen]:
        request = feig_iso.inventory(self.address, afi=afi)
        answer = self._ask(request, feig_iso.INVENTORY)
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
