"""A virtual ISO 15693 tag behind vsmartcard's virtual PC/SC reader (vpcd).

vpcd is a pcscd reader driver that listens on a TCP port for a "card" program;
this is that program. Each message either way is a 2-byte big-endian length and
a payload; a 1-byte payload from the reader is a control (0 power off, 1 power
on, 2 reset, 4 send the ATR), anything else a command APDU to answer.

The card plays what a contactless reader such as the ACS ACR1552U shows of the
field: the first tag of a :class:`~drivers.sim.field.TagField` is "the card"
(connected while it is in the field, disconnected when it leaves, so pcscd sees
a removal); pseudo-APDUs reach it, and transparent-session exchanges reach any
tag of the field by the raw ISO 15693 request they carry. A tag that stays
silent in the model (gone, missed, EAS alarm while not secured) stays silent on
the air, which the reader reports as "no response from ICC".

:class:`StorageCardLogic` plays the other kind of contactless reader (ACR122U,
many Identiv and Omnikey models with their ISO 15693 firmware): it answers the
PC/SC Part 3 storage-card commands only (get UID, read binary and update binary,
P1-P2 the block number, Le/Lc whole blocks) and refuses the transparent session
with a bare 6A81 "function not supported". Its status words follow the readers'
manuals: 6A82 when the first block is past the end, 6B00 when the range runs
past it, 6981 for a locked block, 6C<block size> to a reader that reads one block
at a time (``one_block_per_read``) when asked for more.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable

from drivers.sim.field import (
    BLOCK_SIZE,
    ERR_BLOCK_LOCKED,
    ERR_BLOCK_UNAVAILABLE,
    ERR_NOT_PROGRAMMED,
    ERR_NOT_SUPPORTED,
    SimTag,
    TagField,
    TagGone,
    TagRefused,
)
from protocols.readers import iso15693 as air
from protocols.readers import pcsc

log = logging.getLogger(__name__)

ATR = bytes.fromhex("3B8F8001804F0CA000000306 0B00140000000077".replace(" ", ""))
"""PC/SC part 3 ATR of an ICODE SLI(X) seen by a contactless reader."""

CONTROL_POWER_OFF = 0
CONTROL_POWER_ON = 1
CONTROL_RESET = 2
CONTROL_GET_ATR = 4

_REFUSAL_SW = {
    ERR_BLOCK_UNAVAILABLE: 0x6A82,
    ERR_BLOCK_LOCKED: 0x6982,
    ERR_NOT_PROGRAMMED: 0x6581,
    ERR_NOT_SUPPORTED: 0x6A81,
}


class TagCardLogic:
    """Answers to the APDUs of one card connection (the tag ``uid`` is the card)."""

    def __init__(self, field: TagField, uid: bytes) -> None:
        self.field = field
        self.uid = uid
        self.in_session = False
        self._round: list[SimTag] = []
        """The tags of the current inventory round (taken at its unmasked first request)."""

    def answer(self, apdu: bytes) -> bytes:
        try:
            command = pcsc.parse_command(apdu)
        except pcsc.PcscApduError:
            return pcsc.response(sw=0x6700)
        if command.cla != pcsc.CLA:
            return pcsc.response(sw=0x6E00)
        handler: Callable[[pcsc.CommandApdu], bytes] | None = {
            pcsc.INS_GET_DATA: self._get_data,
            pcsc.INS_READ_BINARY: self._read_binary,
            pcsc.INS_UPDATE_BINARY: self._update_binary,
            pcsc.INS_TRANSPARENT: self._transparent,
        }.get(command.ins)
        if handler is None:
            return pcsc.response(sw=0x6D00)
        return handler(command)

    def _get_data(self, command: pcsc.CommandApdu) -> bytes:
        if command.p1 != 0 or command.p2 != 0:
            return pcsc.response(sw=0x6A81)
        if self.uid not in self.field.tags:  # the UID is what the reader read at activation
            return pcsc.response(sw=0x6300)
        return pcsc.response(self.uid[::-1])

    def _read_binary(self, command: pcsc.CommandApdu) -> bytes:
        length = command.le or 0
        if length % BLOCK_SIZE:
            return pcsc.response(sw=0x6700)
        block = command.p1 << 8 | command.p2
        try:
            data = self.field.read_blocks(self.uid, block, length // BLOCK_SIZE)
        except TagGone:
            return pcsc.response(sw=0x6300)
        except TagRefused as refused:
            return pcsc.response(sw=_REFUSAL_SW.get(refused.code, 0x6300))
        return pcsc.response(data)

    def _update_binary(self, command: pcsc.CommandApdu) -> bytes:
        if not command.data or len(command.data) % BLOCK_SIZE:
            return pcsc.response(sw=0x6700)
        block = command.p1 << 8 | command.p2
        try:
            for i in range(0, len(command.data), BLOCK_SIZE):
                self.field.write_block(
                    self.uid, block + i // BLOCK_SIZE, command.data[i : i + BLOCK_SIZE]
                )
        except TagGone:
            return pcsc.response(sw=0x6300)
        except TagRefused as refused:
            return pcsc.response(sw=_REFUSAL_SW.get(refused.code, 0x6300))
        return pcsc.response()

    # --- transparent session ---------------------------------------------------------

    def _transparent(self, command: pcsc.CommandApdu) -> bytes:
        try:
            objects = pcsc.parse_tlvs(command.data)
        except pcsc.PcscApduError:
            return pcsc.TransparentReply(1, 0x6700).encode()
        if command.p2 == pcsc.P2_MANAGE_SESSION:
            for index, (tag, _value) in enumerate(objects, 1):
                if tag == pcsc.DO_START_SESSION:
                    self.in_session = True
                elif tag == pcsc.DO_END_SESSION:
                    self.in_session = False
                elif tag not in (pcsc.DO_TIMER, pcsc.DO_RF_ON, pcsc.DO_RF_OFF):
                    return pcsc.TransparentReply(index, 0x6A81).encode()
            return pcsc.TransparentReply(0, pcsc.SW_OK).encode()
        if not self.in_session:
            return pcsc.TransparentReply(1, 0x6986).encode()
        if command.p2 == pcsc.P2_SWITCH_PROTOCOL:
            wanted = bytes([pcsc.STANDARD_ISO15693, pcsc.LAYER_3])
            for index, (tag, value) in enumerate(objects, 1):
                if tag != pcsc.DO_SWITCH_PROTOCOL or value != wanted:
                    return pcsc.TransparentReply(index, 0x6A81).encode()
            return pcsc.TransparentReply(0, pcsc.SW_OK).encode()
        if command.p2 != pcsc.P2_EXCHANGE:
            return pcsc.response(sw=0x6B00)
        for index, (tag, value) in enumerate(objects, 1):
            if tag == pcsc.DO_TRANSCEIVE:
                answer = self._air(value)
                if answer is None:
                    return pcsc.TransparentReply(index, pcsc.SW_NO_RESPONSE).encode()
                if answer == b"":
                    return pcsc.TransparentReply(
                        0, pcsc.SW_OK, response_status=pcsc.RESPONSE_COLLISION
                    ).encode()
                return pcsc.TransparentReply(0, pcsc.SW_OK, icc_response=answer).encode()
            if tag not in (pcsc.DO_TIMER,):
                return pcsc.TransparentReply(index, 0x6A81).encode()
        return pcsc.TransparentReply(1, 0x6A80).encode()

    def _air(self, frame: bytes) -> bytes | None:
        """The tag's answer to a raw request; None for silence, b"" for a collision."""
        try:
            request = air.parse_request(frame)
        except air.Iso15693Error:
            return None
        if request.inventory:
            return self._inventory(request)
        uid = request.uid or self.uid
        try:
            return self._command(request, uid)
        except TagGone:
            return None
        except TagRefused as refused:
            return air.error_response(refused.code)

    def _inventory(self, request: air.ParsedRequest) -> bytes | None:
        """One-slot inventory: silence, one answer, or b"" when several tags collide."""
        try:
            selection = air.parse_inventory_request(request)
        except air.Iso15693Error:
            return None
        if selection.mask_bits == 0:
            self._round = self.field.inventory()  # a new round: misses are decided here
        with self.field.lock:
            present = [tag for tag in self._round if tag.uid in self.field.tags]
        matching = [tag for tag in present if selection.matches(tag.uid, tag.afi)]
        if not matching:
            return None
        if len(matching) > 1:
            return b""
        return air.inventory_response(matching[0].uid, matching[0].dsfid)

    def _command(self, request: air.ParsedRequest, uid: bytes) -> bytes | None:
        field, body, command = self.field, request.body, request.command
        if request.manufacturer is not None and request.manufacturer != air.NXP:
            return None  # another maker's custom command: an NXP tag ignores it
        if command == air.Command.READ_SINGLE_BLOCK and len(body) == 1:
            return air.ok_response(field.read_blocks(uid, body[0], 1))
        if command == air.Command.READ_MULTIPLE_BLOCKS and len(body) == 2:
            return air.ok_response(field.read_blocks(uid, body[0], body[1] + 1))
        if command == air.Command.WRITE_SINGLE_BLOCK and len(body) == 1 + BLOCK_SIZE:
            field.write_block(uid, body[0], body[1:])
            return air.ok_response()
        if command == air.Command.WRITE_AFI and len(body) == 1:
            field.write_afi(uid, body[0])
            return air.ok_response()
        if command == air.Command.LOCK_AFI and not body:
            field.lock_afi(uid)
            return air.ok_response()
        if command == air.Command.GET_SYSTEM_INFO and not body:
            tag = field.system_info(uid)
            return _system_info(tag)
        if command in (air.Command.NXP_SET_EAS, air.Command.NXP_RESET_EAS) and not body:
            field.set_eas(uid, command == air.Command.NXP_SET_EAS)
            return air.ok_response()
        if command == air.Command.NXP_LOCK_EAS and not body:
            with field.lock:
                tag = field.system_info(uid)
                tag.eas_locked = True
            return air.ok_response()
        if command == air.Command.NXP_EAS_ALARM and not body:
            alarm = field.eas_alarm(request.uid)
            return air.ok_response(bytes(32)) if alarm else None
        return air.error_response(ERR_NOT_SUPPORTED)


class StorageCardLogic(TagCardLogic):
    """A reader with the storage-card commands only: no transparent session, one tag."""

    one_block_per_read = False

    def _transparent(self, command: pcsc.CommandApdu) -> bytes:
        return pcsc.response(sw=0x6A81)

    def _range(self, command: pcsc.CommandApdu, length: int) -> tuple[int, int] | bytes:
        """The first block and the block count, or the status word refusing them."""
        if length == 0 or length % BLOCK_SIZE:
            return pcsc.response(sw=0x6700)
        block = command.p1 << 8 | command.p2
        try:
            block_count = self.field.system_info(self.uid).block_count
        except TagGone:
            return pcsc.response(sw=0x6300)
        if block >= block_count:
            return pcsc.response(sw=0x6A82)
        if block + length // BLOCK_SIZE > block_count:
            return pcsc.response(sw=0x6B00)
        return block, length // BLOCK_SIZE

    def _read_binary(self, command: pcsc.CommandApdu) -> bytes:
        length = command.le or 0
        if self.one_block_per_read and length > BLOCK_SIZE:
            return pcsc.response(sw=0x6C00 | BLOCK_SIZE)
        span = self._range(command, length)
        if isinstance(span, bytes):
            return span
        try:
            return pcsc.response(self.field.read_blocks(self.uid, *span))
        except TagGone:
            return pcsc.response(sw=0x6300)
        except TagRefused:
            return pcsc.response(sw=0x6981)

    def _update_binary(self, command: pcsc.CommandApdu) -> bytes:
        span = self._range(command, len(command.data))
        if isinstance(span, bytes):
            return span
        first, count = span
        try:
            for i in range(count):
                chunk = command.data[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE]
                self.field.write_block(self.uid, first + i, chunk)
        except TagGone:
            return pcsc.response(sw=0x6300)
        except TagRefused:
            return pcsc.response(sw=0x6981)
        return pcsc.response()


class SingleBlockStorageCardLogic(StorageCardLogic):
    """The storage-card reader that insists on Le = one block (6C04 otherwise)."""

    one_block_per_read = True


LogicFactory = Callable[[TagField, bytes], TagCardLogic]


def _system_info(tag: SimTag) -> bytes:
    return air.SystemInfo(
        uid=tag.uid,
        dsfid=tag.dsfid,
        afi=tag.afi,
        block_count=tag.block_count,
        block_size=BLOCK_SIZE,
        ic_reference=tag.ic_reference,
    ).encode()


class VirtualTagCard:
    """Keeps a vpcd connection open for the first tag in the field, and answers on it.

    A supervisor thread follows the field (woken by its ``changed`` condition):
    when the first tag changes it drops the connection (pcscd sees the card
    removed) and connects again for the new tag. ``stop()`` ends both threads.
    """

    def __init__(
        self,
        field: TagField,
        port: int,
        host: str = "127.0.0.1",
        logic: LogicFactory = TagCardLogic,
    ) -> None:
        self.field = field
        self.address = (host, port)
        self.logic = logic
        """Makes the APDU logic of each connection: which kind of reader is played."""
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._uid: bytes | None = None
        self._powered = False
        self._settled = threading.Condition()
        """Notified whenever the connection or its power changes."""
        self._threads: list[threading.Thread] = []
        self._supervisor: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._supervisor = threading.Thread(
            target=self._supervise, name="vpcd-card-supervisor", daemon=True
        )
        self._supervisor.start()

    def stop(self) -> None:
        self._stopping.set()
        with self.field.changed:
            self.field.changed.notify_all()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
            self._supervisor = None
        self._drop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def is_card_thread(self) -> bool:
        return threading.current_thread() in (self._supervisor, *self._threads)

    @property
    def uid(self) -> bytes | None:
        """The tag the reader currently sees as its card."""
        return self._uid

    def wait_for(self, uid: bytes | None, timeout: float) -> bool:
        """Wait until the card is ``uid`` and pcscd has powered it (or, for None, no card)."""

        def settled() -> bool:
            return self._uid == uid and (uid is None or (self._powered and self._sock is not None))

        with self._settled:
            return self._settled.wait_for(settled, timeout)

    def wanted(self) -> bytes | None:
        """The tag that should be the card, by the field's current state."""
        with self.field.lock:
            return self._wanted()

    def _changed(self, sock: socket.socket | None, uid: bytes | None, powered: bool) -> None:
        with self._settled:
            self._sock, self._uid, self._powered = sock, uid, powered
            self._settled.notify_all()

    # --- supervisor -------------------------------------------------------------------

    def _wanted(self) -> bytes | None:
        if self.field.faults.unplugged:
            return None
        return next(iter(self.field.tags), None)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            with self.field.changed:
                wanted = self._wanted()
                current = self._uid
                if wanted == current and (wanted is None or self._sock is not None):
                    self.field.changed.wait(timeout=0.5)
                    continue
            if current is not None:
                self._drop()  # another tag, no tag, or the connection was lost
            if wanted is not None and not self._stopping.is_set():
                self._connect(wanted)

    def _connect(self, uid: bytes) -> None:
        try:
            sock = socket.create_connection(self.address, timeout=2)
        except OSError as error:
            log.debug("vpcd not reachable: %s", error)
            self._stopping.wait(0.2)
            return
        sock.settimeout(None)
        self._changed(sock, uid, powered=False)
        thread = threading.Thread(
            target=self._serve, args=(sock, self.logic(self.field, uid)), daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _drop(self) -> None:
        with self._settled:
            sock = self._sock
            self._changed(None, None, powered=False)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # --- one connection ----------------------------------------------------------------

    def _serve(self, sock: socket.socket, logic: TagCardLogic) -> None:
        try:
            while True:
                message = _receive(sock)
                if message is None:
                    break
                if len(message) == 1:
                    control = message[0]
                    if control == CONTROL_GET_ATR:
                        _send(sock, ATR)
                    elif control in (CONTROL_POWER_ON, CONTROL_RESET):
                        logic.in_session = False
                        with self._settled:
                            if sock is self._sock:
                                self._changed(sock, self._uid, powered=True)
                    elif control == CONTROL_POWER_OFF:
                        logic.in_session = False
                    continue
                _send(sock, logic.answer(message))
        except OSError:
            pass
        finally:
            with self._settled:
                if self._sock is sock:  # the supervisor reconnects if the tag is still there
                    self._changed(None, self._uid, powered=False)
            with self.field.changed:
                self.field.changed.notify_all()


def _receive(sock: socket.socket) -> bytes | None:
    head = _exactly(sock, 2)
    if head is None:
        return None
    return _exactly(sock, int.from_bytes(head, "big"))


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(2, "big") + payload)
