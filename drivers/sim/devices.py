"""Reader firmware, simulated: request frames in, answer frames out, over a TagField.

These are the far ends that :mod:`drivers.sim.serial_peer` puts behind a
pseudo-terminal, so the FEIG and 3M drivers are tested on the same bytes a
real reader sends. ``air_time`` says how long a real reader would have spent on
the air for a request and its answer (the same :class:`AirTiming` model as
``sim://``), so a paced peer answers when a real reader would.
"""

from __future__ import annotations

import time

from drivers.sim.field import BLOCK_SIZE, TagField, TagGone, TagRefused
from drivers.sim.timing import INSTANT, AirTiming
from protocols.readers import feig_iso, feig_notify, threem
from protocols.readers.feig import FeigFrame
from protocols.readers.threem import ThreeMFrame


class FeigFirmware:
    """FEIG host mode, and notification mode once the host writes it into the configuration.

    In notification mode the reader keeps its own rounds going
    (:meth:`notify_round`, driven by the serial peer at air speed, whatever the host
    does) and pushes the tags a round found that the round before had not, and a tag
    that stays again every ``valid_time`` seconds (so a host that could not handle it
    the first time hears of it again); host commands still work between its rounds
    (the gate reads an alarming tag's memory).
    """

    valid_time = 1.0

    def __init__(self, field: TagField, timing: AirTiming = INSTANT) -> None:
        self.field = field
        self.timing = timing
        self.mode = feig_notify.Mode(notify=False, afi=None)
        self.rounds = 0
        """Rounds the reader ran on its own (notification mode)."""
        self._last_round: set[bytes] = set()
        self._reported: dict[bytes, float] = {}

    @property
    def notifying(self) -> bool:
        return self.mode.notify

    def notify_round(self, address: int = 0xFF) -> tuple[float, FeigFrame | None]:
        """One of the reader's own rounds: its air time, and what to push after it.

        The field is looked at as the round goes on the air (as for a host's
        inventory), so a tag arriving during a round is found by the next one."""
        tags = self.field.inventory(self.mode.afi)
        self.rounds += 1
        now = time.monotonic()
        new = [
            (tag.dsfid, tag.uid)
            for tag in tags
            if tag.uid not in self._last_round
            or now - self._reported.get(tag.uid, now) >= self.valid_time
        ]
        self._last_round = {tag.uid for tag in tags}
        self._reported = {uid: t for uid, t in self._reported.items() if uid in self._last_round}
        self._reported.update((uid, now) for _dsfid, uid in new)
        frame = feig_notify.notification(new, address) if new else None
        if self.mode.single_slot:
            return self.timing.inventory_single(len(tags)), frame
        return self.timing.inventory(len(tags)), frame

    def air_time(self, request: FeigFrame, answer: FeigFrame) -> float:
        if request.command == feig_notify.WRITE_CONFIG:
            return 0.0
        fields = feig_iso.parse_request(request) or {}
        timing = self.timing
        if request.command == feig_iso.NXP:
            if fields.get("nxp_command") in (feig_iso.SET_EAS, feig_iso.RESET_EAS):
                return timing.eas()
            return timing.addressed()
        sub = fields.get("sub_command")
        if sub == feig_iso.INVENTORY:
            answered = answer.data[1] if answer.data[:1] == bytes([feig_iso.OK]) else 0
            return timing.inventory(answered)
        if sub == feig_iso.READ_BLOCKS:
            return timing.read(int(fields.get("blocks", 1)))  # type: ignore[call-overload]
        if sub == feig_iso.WRITE_BLOCKS:
            blocks = len(bytes(fields.get("data", b""))) // BLOCK_SIZE  # type: ignore[call-overload]
            return blocks * timing.write(1)
        if sub in (feig_iso.WRITE_AFI, feig_iso.LOCK_AFI):
            return timing.afi()
        return timing.addressed() if sub is not None else 0.0

    def answer(self, request: FeigFrame) -> FeigFrame:
        if request.command == feig_notify.WRITE_CONFIG:
            mode = feig_notify.parse_set_mode(request)
            if mode is None:
                return feig_notify.mode_answer(request, 0x81)  # length error
            self.mode = mode
            self._last_round = set()  # a fresh start reports every tag in the field
            return feig_notify.mode_answer(request)
        fields = feig_iso.parse_request(request)
        if fields is None:
            return feig_iso.answer(request, 0x81)  # length error
        try:
            return self._answer(request, fields)
        except TagGone:
            return feig_iso.answer(request, feig_iso.NO_TRANSPONDER)
        except TagRefused as refused:
            return feig_iso.answer(request, feig_iso.ISO_ERROR, bytes([refused.code]))

    def _answer(self, request: FeigFrame, fields: dict[str, object]) -> FeigFrame:
        field = self.field
        uid = fields.get("uid")
        if request.command == feig_iso.NXP:
            command = fields["nxp_command"]
            if command == feig_iso.EAS_ALARM:
                alarmed = field.eas_alarm(uid if isinstance(uid, bytes) else None)
                return feig_iso.answer(
                    request,
                    feig_iso.OK if alarmed else feig_iso.NO_TRANSPONDER,
                    bytes(32) if alarmed else b"",
                )
            assert isinstance(uid, bytes)
            if command in (feig_iso.SET_EAS, feig_iso.RESET_EAS):
                field.set_eas(uid, command == feig_iso.SET_EAS)
                return feig_iso.answer(request)
            return feig_iso.answer(request, 0x82)
        sub = fields["sub_command"]
        if sub == feig_iso.INVENTORY:
            afi = fields.get("afi")
            selected = field.inventory(afi if isinstance(afi, int) else None)
            tags = [(tag.dsfid, tag.uid) for tag in selected]
            if not tags:
                return feig_iso.answer(request, feig_iso.NO_TRANSPONDER)
            return feig_iso.answer(request, feig_iso.OK, feig_iso.inventory_payload(tags))
        assert isinstance(uid, bytes)
        if sub == feig_iso.SYSTEM_INFO:
            tag = field.system_info(uid)
            payload = feig_iso.system_info_payload(
                uid,
                dsfid=tag.dsfid,
                afi=tag.afi,
                block_size=BLOCK_SIZE,
                block_count=tag.block_count,
                ic_reference=tag.ic_reference,
            )
            return feig_iso.answer(request, feig_iso.OK, payload)
        if sub == feig_iso.READ_BLOCKS:
            first, count = int(fields["first_block"]), int(fields["blocks"])  # type: ignore[call-overload]
            data = field.read_blocks(uid, first, count)
            return feig_iso.answer(request, feig_iso.OK, feig_iso.blocks_payload(data))
        if sub == feig_iso.WRITE_BLOCKS:
            first = int(fields["first_block"])  # type: ignore[call-overload]
            written = fields["data"]
            assert isinstance(written, bytes)
            for index in range(len(written) // BLOCK_SIZE):
                chunk = written[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE]
                field.write_block(uid, first + index, chunk)
            return feig_iso.answer(request)
        if sub == feig_iso.WRITE_AFI:
            field.write_afi(uid, int(fields["afi"]))  # type: ignore[call-overload]
            return feig_iso.answer(request)
        if sub == feig_iso.LOCK_AFI:
            field.lock_afi(uid)
            return feig_iso.answer(request)
        return feig_iso.answer(request, 0x82)  # command not available


class ThreeMFirmware:
    def __init__(self, field: TagField, timing: AirTiming = INSTANT) -> None:
        self.field = field
        self.timing = timing

    def air_time(self, request: ThreeMFrame, answer: ThreeMFrame) -> float:
        fields = threem.request_fields(request) or {}
        timing, command = self.timing, request.command
        if command == threem.INVENTORY:
            answered = answer.body[3] if answer.body[:1] == b"\x00" and len(answer.body) > 3 else 0
            return timing.inventory(answered)
        if command == threem.VERSION:
            return 0.0
        if command == threem.READ_BLOCKS:
            return timing.read(int(fields.get("blocks", 1)))  # type: ignore[call-overload]
        if command == threem.WRITE_BLOCKS:
            blocks: int = fields.get("blocks", 1)  # type: ignore[assignment]
            return blocks * timing.write(1)
        if command in (threem.WRITE_AFI, threem.LOCK_AFI):
            return timing.afi()
        if command == threem.EAS_CONTROL:
            return timing.eas()
        return timing.addressed()

    def answer(self, request: ThreeMFrame) -> ThreeMFrame:
        fields = threem.request_fields(request)
        if fields is None:
            return threem.answer(request.command, 0x02)
        uid = bytes.fromhex(str(fields["uid"])) if "uid" in fields else None
        try:
            return self._answer(request.command, fields, uid)
        except TagGone:
            extra = b"\x00" if request.command == threem.CHECK_EAS else b""
            return threem.answer(request.command, threem.NO_TRANSPONDER, uid, extra)
        except TagRefused as refused:
            code = 0x12 if refused.code == 0x12 else 0x11
            return threem.answer(request.command, code, uid)

    def _answer(self, command: int, fields: dict[str, object], uid: bytes | None) -> ThreeMFrame:
        field = self.field
        if command == threem.INVENTORY:
            options = int(fields["options"])  # type: ignore[call-overload]
            # The AFI byte always travels; 0 selects every tag (ISO 15693).
            afi = int(fields["afi"])  # type: ignore[call-overload]
            tags = [(tag.dsfid, tag.uid) for tag in field.inventory(afi or None)]
            return threem.inventory_answer(tags, int(fields["afi"]), options)  # type: ignore[call-overload]
        if command == threem.VERSION:
            return threem.answer(command, 0, None, bytes([5, 0, 2, 0]))
        assert uid is not None
        if command == threem.READ_BLOCKS:
            first, count = int(fields["first_block"]), int(fields["blocks"])  # type: ignore[call-overload]
            return threem.read_answer(uid, first, field.read_blocks(uid, first, count))
        if command == threem.WRITE_BLOCKS:
            first = int(fields["first_block"])  # type: ignore[call-overload]
            data = bytes.fromhex(str(fields["data"]))
            for index in range(len(data) // BLOCK_SIZE):
                field.write_block(
                    uid, first + index, data[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE]
                )
            return threem.answer(command, 0, uid, bytes([first + len(data) // BLOCK_SIZE]))
        if command == threem.GET_AFI:
            return threem.answer(command, 0, uid, bytes([field.system_info(uid).afi]))
        if command == threem.WRITE_AFI:
            field.write_afi(uid, int(fields["afi"]))  # type: ignore[call-overload]
            return threem.answer(command, 0, uid)
        if command == threem.LOCK_AFI:
            field.lock_afi(uid)
            return threem.answer(command, 0, uid)
        if command == threem.CHECK_EAS:
            if not field.eas_alarm(uid):
                raise TagGone(uid.hex())  # only tags with EAS set answer
            return threem.answer(command, 0, uid, b"\x01")
        if command == threem.EAS_CONTROL:
            field.set_eas(uid, bool(fields["eas"]))
            return threem.answer(command, 0, uid)
        if command == threem.TAG_INFO:
            tag = field.system_info(uid)
            payload = bytes(
                [
                    0x0F,
                    tag.dsfid,
                    tag.afi,
                    BLOCK_SIZE - 1,
                    tag.block_count - 1,
                    0x00,
                    tag.ic_reference,
                ]
            )
            return threem.answer(command, 0, uid, payload)
        return threem.answer(command, 0x02)
