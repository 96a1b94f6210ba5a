"""PC/SC contactless readers (ACS ACR1552U and the like) as a TagReader, through pyscard.

``pcsc://READER`` picks the first reader whose name contains READER (empty: the
first reader); query parameters: ``block_size`` (4), ``blocks_per_read`` (1:
some readers refuse longer read binary), ``rf_timeout`` (seconds the reader
waits for a tag's answer in transparent exchanges, 0.1), ``retry`` and
``retry_max`` (the reconnect backoff, 0.2 and 5 seconds), ``anticollision``
(yes).

PC/SC shows a reader one tag at a time, as its "card". Where the reader has a
transparent exchange (:mod:`protocols.readers.pcsc`), ``inventory`` runs a
real ISO 15693 anticollision round through it (one-slot inventories, the mask
split on every collision) and so lists a whole stack of books; elsewhere (or
with ``anticollision=no``) it returns the card or nothing. The card's blocks
travel as read/update binary pseudo-APDUs; AFI, EAS, system information and
the blocks of the other tags go as raw ISO 15693 requests addressed by UID.

Many readers have only the storage-card commands (get UID, read and update
binary) and refuse the transparent session with a bare status word (6A81).
Through them the card's data is read and written as usual, but nothing of
AFI, EAS or system information can be: those calls raise
:class:`ReaderCannot` (a TagError with the ISO 15693 code "not supported"),
which the security writer and the engine take as a refusal — the loan is
undone or the return flagged — and never as a tag secured. The reader says so
once in the log and in :meth:`PcscReader.status` (``security_writable`` False).

pcscd can vanish (service restarted) and so can the reader (USB unplugged):
both make calls raise DeviceUnavailable and set the state to UNAVAILABLE; the
next call after the backoff delay establishes a fresh PC/SC context. Nothing
here loops: presence is one non-blocking status query, and the reader's own
firmware bounds each exchange.

pyscard's low-level ``smartcard.scard`` module is used rather than its
higher-level classes so that every PC/SC result code reaches the error mapping
and each reconnect really opens a new context (the client library reads
``PCSCLITE_CSOCK_NAME`` once, at its first context).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from drivers.backoff import Backoff
from drivers.interfaces import (
    DeviceError,
    DeviceState,
    DeviceTimeout,
    DeviceUnavailable,
    TagError,
    TagInfo,
    TagNotFound,
    TagSeen,
)
from drivers.registry import DeviceUrl
from protocols.readers import iso15693 as air
from protocols.readers import pcsc
from protocols.readers.pcsc import PcscApduError, StatusKind

log = logging.getLogger(__name__)

try:
    from smartcard import scard as _scard
except ImportError:  # pragma: no cover - depends on the installation
    _scard = None

scard: Any = _scard


def _code(name: str, fallback: int) -> int:
    return int(getattr(scard, name, fallback)) & 0xFFFFFFFF


SCARD_S_SUCCESS = 0
SCARD_E_TIMEOUT = _code("SCARD_E_TIMEOUT", 0x8010000A)
SCARD_W_RESET_CARD = _code("SCARD_W_RESET_CARD", 0x80100068)
_CARD_GONE = {
    _code(name, value)
    for name, value in (
        ("SCARD_W_REMOVED_CARD", 0x80100069),
        ("SCARD_E_NO_SMARTCARD", 0x8010000C),
        ("SCARD_W_UNPOWERED_CARD", 0x80100067),
        ("SCARD_W_UNRESPONSIVE_CARD", 0x80100066),
        ("SCARD_E_NOT_TRANSACTED", 0x80100016),
        ("SCARD_E_PROTO_MISMATCH", 0x8010000F),
        ("SCARD_E_CARD_UNSUPPORTED", 0x8010001C),
        ("SCARD_W_UNSUPPORTED_CARD", 0x80100065),
    )
}
"""Results that mean the tag (the "card") left or cannot be talked to; the reader is fine."""

_NOT_SUPPORTED = {StatusKind.NOT_SUPPORTED, StatusKind.WRONG_PARAMETERS}
_ISO_CODE = {
    StatusKind.LOCKED: 0x12,
    StatusKind.NO_SUCH_BLOCK: 0x10,
    StatusKind.MEMORY_FAILURE: 0x13,
}
"""Status words of read/update binary that say what a tag's ISO 15693 error code would."""


MAX_INVENTORY_EXCHANGES = 1024
"""Bounds one anticollision round (a stack of 30 books takes about 60 exchanges)."""


class _CardGone(Exception):
    """Internal: the card handle died (tag removed, reset, unpowered)."""


class _NoTransparent(Exception):
    """Internal: the reader refuses transparent sessions."""


NOT_SUPPORTED = 0x01
"""ISO 15693 error code "command not supported"."""


class ReaderCannot(TagError):
    """The reader cannot do this at all (it has no transparent exchange).

    Not the tag's fault and not worth a retry: it carries the ISO 15693 code
    "not supported", so code that knows only TagError treats it as a refusal.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, code=NOT_SUPPORTED)


NO_TRANSPARENT = (
    "this reader has no transparent exchange (only get UID, read and update binary): "
    "it shows one tag at a time and cannot read or write AFI, EAS or system information"
)


class PcscReader:
    """An ISO 15693 reader behind pcscd."""

    def __init__(self, url: DeviceUrl) -> None:
        self.url = url.raw
        self.reader_match = url.target
        self.block_size = url.integer("block_size", 4)
        self.blocks_per_read = max(1, url.integer("blocks_per_read", 1))
        self.rf_timeout = url.number("rf_timeout", 0.1)
        self.anticollision = url.flag("anticollision", True)
        self._backoff = Backoff(first=url.number("retry", 0.2), limit=url.number("retry_max", 5.0))
        self._lock = threading.RLock()
        self._state = DeviceState.CLOSED
        self._context: Any = None
        self._reader: str | None = None
        self._card: Any = None
        self._protocol = 0
        self._uid: bytes | None = None
        self._transparent: bool | None = None
        """Whether the reader does transparent sessions; None until known."""
        self._told: set[str] = set()
        """Readers whose lack of a transparent exchange is already in the log."""

    # --- life cycle -----------------------------------------------------------------

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def reader_name(self) -> str | None:
        """The PC/SC name of the reader in use, once connected."""
        return self._reader

    @property
    def security_writable(self) -> bool | None:
        """Whether AFI and EAS can be written (and read) through this reader.

        None until the first exchange with a tag tells; False for a reader with
        the storage-card commands only.
        """
        return self._transparent

    def status(self) -> dict[str, object]:
        """What staff and the status report need to know of this reader."""
        return {
            "url": self.url,
            "state": self._state.value,
            "reader": self._reader,
            "transparent_exchange": self._transparent,
            "security_writable": self._transparent,
            "limitation": NO_TRANSPARENT if self._transparent is False else "",
        }

    def open(self) -> None:
        with self._lock:
            self._connect_reader()

    def close(self) -> None:
        with self._lock:
            self._release()
            self._state = DeviceState.CLOSED

    def __enter__(self) -> PcscReader:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect_reader(self) -> None:
        if scard is None:
            self._state = DeviceState.UNAVAILABLE
            raise DeviceUnavailable("pyscard is not installed (pip install pyscard)")
        self._release()
        self._state = DeviceState.CONNECTING
        self._transparent = None
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if _ok(hresult):
            self._context = context
            hresult, names = scard.SCardListReaders(context, [])
            if _ok(hresult):
                found = [str(n) for n in names if self.reader_match in str(n)]
                if found:
                    self._reader = found[0]
                    self._state = DeviceState.READY
                    self._backoff.succeeded()
                    log.info("%s: using PC/SC reader %r", self.url, self._reader)
                    return
                reason = f"no PC/SC reader matches {self.reader_match!r} (have {names})"
            else:
                reason = _message(hresult)
        else:
            reason = _message(hresult)
        self._unavailable(reason)

    def _unavailable(self, reason: str) -> None:
        self._release()
        self._state = DeviceState.UNAVAILABLE
        self._backoff.failed()
        log.warning("%s: reader unavailable: %s", self.url, reason)
        raise DeviceUnavailable(f"{self.url}: {reason}")

    def _release(self) -> None:
        self._drop_card()
        if self._context is not None:
            scard.SCardReleaseContext(self._context)
        self._context = None
        self._reader = None

    def _ready(self) -> None:
        if self._state is DeviceState.READY and self._context is not None:
            return
        if self._state is DeviceState.UNAVAILABLE and not self._backoff.ready():
            wait = self._backoff.remaining()
            raise DeviceUnavailable(f"{self.url}: unavailable; next try in {wait:.1f} s")
        self._connect_reader()

    def _check(self, hresult: int, what: str) -> None:
        """Raise for a failed PC/SC call: the card's fault, a timeout, or a lost reader."""
        code = int(hresult) & 0xFFFFFFFF
        if code == SCARD_S_SUCCESS:
            return
        if code in _CARD_GONE:
            self._drop_card()
            raise _CardGone(_message(code))
        if code == SCARD_E_TIMEOUT:
            raise DeviceTimeout(f"{self.url}: {what}: {_message(code)}")
        # No service, unknown reader, invalid handle, communication error: start afresh.
        self._unavailable(f"{what}: {_message(code)}")

    # --- the card (the tag the reader has selected) ------------------------------------

    def _present(self) -> bool:
        hresult, states = scard.SCardGetStatusChange(
            self._context, 0, [(self._reader, scard.SCARD_STATE_UNAWARE)]
        )
        if int(hresult) & 0xFFFFFFFF == SCARD_E_TIMEOUT:
            return self._card is not None
        self._check(hresult, "reader status")
        event = int(states[0][1]) if states else 0
        if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
            self._unavailable("the reader went away")
        return bool(event & scard.SCARD_STATE_PRESENT) and not event & scard.SCARD_STATE_MUTE

    def _connect_card(self) -> bool:
        """A card handle, if a tag is on the reader."""
        if self._card is not None:
            return True
        if not self._present():
            return False
        hresult, card, protocol = scard.SCardConnect(
            self._context,
            self._reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        try:
            self._check(hresult, "connect")
        except _CardGone:
            return False
        self._card, self._protocol, self._uid = card, int(protocol), None
        return True

    def _drop_card(self) -> None:
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
        self._card = None
        self._uid = None

    def _transmit(self, apdu: bytes) -> bytes:
        for attempt in range(2):
            if self._card is None:
                raise _CardGone("no card")
            hresult, answer = scard.SCardTransmit(self._card, self._protocol, list(apdu))
            code = int(hresult) & 0xFFFFFFFF
            if code == SCARD_W_RESET_CARD and attempt == 0:
                hresult, protocol = scard.SCardReconnect(
                    self._card,
                    scard.SCARD_SHARE_SHARED,
                    scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
                    scard.SCARD_LEAVE_CARD,
                )
                self._check(hresult, "reconnect")
                self._protocol = int(protocol)
                continue
            self._check(code, "transmit")
            return bytes(answer)
        raise _CardGone("card reset twice")

    def _read_uid(self) -> bytes | None:
        """The UID of the tag on the reader now, or None (no tag, or it did not answer)."""
        for _attempt in range(2):
            stale = self._card is not None
            try:
                if not self._connect_card():
                    return None
                answer = pcsc.parse_response(self._transmit(pcsc.get_uid()))
                break
            except _CardGone:
                if not stale:
                    return None
                # The handle was of a tag that left; another may be on the reader now.
            except PcscApduError:
                return None
        else:
            return None
        if answer.sw != pcsc.SW_OK or len(answer.data) != air.UID_LENGTH:
            return None
        self._uid = answer.data[::-1]
        return self._uid

    def _any_card(self) -> bool:
        try:
            return self._connect_card()
        except _CardGone:
            return False

    # --- TagReader ------------------------------------------------------------------

    @property
    def filters_afi(self) -> bool:
        """Whether ``inventory(afi=…)`` can put the AFI flag on the air: through the
        transparent exchange only (unknown until tried; a reader that turns out to refuse
        it makes the filtered inventory raise :class:`ReaderCannot`, never list a tag
        it could not filter)."""
        return self.anticollision and self._transparent is not False

    def inventory(self, afi: int | None = None) -> list[TagSeen]:
        """The tags in the field; ``afi`` set: only those of that application family (the
        ISO 15693 AFI flag in each one-slot inventory of the anticollision walk), so a
        gate's alarm rounds hear only secured books."""
        with self._lock:
            self._ready()
            if self.anticollision and self._transparent is not False:
                try:
                    if not self._any_card():
                        return []
                    found = self._walk(afi)
                    return [TagSeen(uid=uid, dsfid=dsfid) for uid, dsfid in found.items()]
                except _NoTransparent as refused:
                    with suppress(DeviceError):  # one refused round: the card alone this time
                        self._no_transparent(refused)
                except (_CardGone, PcscApduError) as error:
                    log.debug("%s: anticollision round failed (%s)", self.url, error)
                    if afi is not None:
                        return []  # the card alone is not known to hold that AFI
            if afi is not None:
                raise self._cannot("filter an inventory by AFI")
            uid = self._read_uid()
            return [TagSeen(uid=uid)] if uid is not None else []

    def _walk(self, afi: int | None = None) -> dict[bytes, int]:
        """Every tag's UID and DSFID by one-slot inventories, splitting the mask on collisions."""
        found: dict[bytes, int] = {}
        pending = [(0, 0)]
        exchanges = 0
        with self._session():
            while pending:
                exchanges += 1
                if exchanges > MAX_INVENTORY_EXCHANGES:
                    log.warning("%s: inventory stopped after %d exchanges", self.url, exchanges)
                    break
                bits, mask = pending.pop()
                reply = self._transceive(air.inventory(afi, mask_bits=bits, mask=mask))
                kind = reply.kind
                if kind is StatusKind.OK:
                    try:
                        tag = air.parse_inventory(reply.icc_response or b"")
                    except air.Iso15693Error:
                        kind = StatusKind.COLLISION  # two answers on top of each other
                    else:
                        found[tag.uid] = tag.dsfid
                        continue
                if kind in (StatusKind.COLLISION, StatusKind.RF_ERROR):
                    if bits < air.UID_LENGTH * 8:
                        pending.append((bits + 1, mask | 1 << bits))
                        pending.append((bits + 1, mask))
                elif kind is not StatusKind.NO_RESPONSE:
                    reply.checked()
        return found

    def read_blocks(self, uid: bytes, first: int, count: int) -> bytes:
        if count < 1:
            raise ValueError("read at least one block")
        with self._lock:
            self._ready()
            card = self._is_card(uid)
            out = bytearray()
            block = first
            while block < first + count:
                n = min(self.blocks_per_read, first + count - block)
                want = n * self.block_size
                if card:
                    data = self._read_binary(uid, block, n)
                else:
                    frame = air.read_multiple_blocks(uid, block, n)
                    data = self._air_blocks(uid, frame, n)
                if len(data) != want:
                    raise TagNotFound(f"read block {block}: {len(data)} bytes, wanted {want}")
                out += data
                block += n
            return bytes(out)

    def write_blocks(self, uid: bytes, first: int, data: bytes) -> None:
        if not data or len(data) % self.block_size:
            raise ValueError(f"write whole blocks of {self.block_size} bytes")
        with self._lock:
            self._ready()
            card = self._is_card(uid)
            for i in range(0, len(data), self.block_size):
                block = first + i // self.block_size
                chunk = data[i : i + self.block_size]
                if card:
                    what = f"write block {block}"
                    answer = self._card_transmit(uid, pcsc.update_binary(block, chunk), what)
                    try:
                        pcsc.parse_update_binary(answer, what)
                    except PcscApduError as error:
                        raise self._failure(uid, error) from None
                else:
                    answer = self._other_tag(uid, air.write_single_block(uid, block, chunk))
                    _check_status(uid, answer)

    def _is_card(self, uid: bytes) -> bool:
        """Whether ``uid`` is the reader's card (read/update binary reach only that one)."""
        return (self._card is not None and self._uid == uid) or self._read_uid() == uid

    def _air_blocks(self, uid: bytes, frame: bytes, count: int) -> bytes:
        answer = self._other_tag(uid, frame)
        try:
            return air.parse_blocks(answer, count, self.block_size)
        except air.Iso15693Error as error:
            raise _tag_error(uid, error) from None

    def _other_tag(self, uid: bytes, frame: bytes) -> bytes:
        """A raw request to a tag that is not the card: only a transparent exchange reaches it."""
        if self._transparent is False:
            raise TagNotFound(f"tag {uid.hex().upper()} is not the one tag this reader shows")
        try:
            answer = self._command(uid, frame)
        except ReaderCannot:
            raise TagNotFound(
                f"tag {uid.hex().upper()} is not the one tag this reader shows"
            ) from None
        return answer

    def _card_transmit(self, uid: bytes, apdu: bytes, what: str) -> bytes:
        try:
            return self._transmit(apdu)
        except _CardGone:
            raise TagNotFound(f"{what}: tag {uid.hex().upper()} left the reader") from None

    def _read_binary(self, uid: bytes, block: int, count: int) -> bytes:
        """``count`` blocks of the card from ``block`` on, by read binary.

        A reader that answers 6C XX gives reads of XX bytes only: when that is a
        whole number of blocks, reads shrink to it (for this and later calls);
        otherwise the configured block size is wrong, which the error says.
        """
        want = count * self.block_size
        what = f"read block {block}"
        answer = self._card_transmit(uid, pcsc.read_binary(block, want), what)
        try:
            return pcsc.parse_read_binary(answer, want, what)
        except PcscApduError as error:
            accepted = pcsc.wanted_length(error)
            if accepted is None:
                raise self._failure(uid, error) from None
            if accepted < want and accepted % self.block_size == 0:
                self.blocks_per_read = accepted // self.block_size
                log.info(
                    "%s: the reader reads %d bytes at a time; reads shrink to %d block(s)",
                    self.url, accepted, self.blocks_per_read,
                )  # fmt: skip
                step = self.blocks_per_read
                parts = [
                    self._read_binary(uid, b, min(step, block + count - b))
                    for b in range(block, block + count, step)
                ]
                return b"".join(parts)
            raise TagError(
                f"{what}: the reader gives {accepted} bytes, not {want}: its blocks are not "
                f"{self.block_size} bytes (set block_size= in the reader URL)"
            ) from None

    def _failure(self, uid: bytes, error: PcscApduError) -> Exception:
        """The interface's exception for a status word that reports failure."""
        kind = error.kind
        if kind in _ISO_CODE:
            return TagError(str(error), code=_ISO_CODE[kind])
        if kind in (StatusKind.NO_RESPONSE, StatusKind.RF_ERROR, StatusKind.MALFORMED):
            return TagNotFound(f"tag {uid.hex().upper()}: {error}")
        if kind is StatusKind.FAILED:
            # Readers answer 63 00 for a tag that went quiet as for one that refused: ask it.
            self._uid = None
            if self._read_uid() != uid:
                return TagNotFound(f"tag {uid.hex().upper()} left the reader ({error})")
        return TagError(str(error))

    # --- transparent exchange ----------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[None]:
        """A transparent session inside a PC/SC transaction, ended whatever happens."""
        self._check(scard.SCardBeginTransaction(self._card), "begin transaction")
        try:
            self._manage(pcsc.start_session())
            try:
                self._manage(pcsc.switch_to_iso15693(), optional=True)
                yield
            finally:
                if self._card is not None:
                    with suppress(_CardGone, PcscApduError):
                        self._transmit(pcsc.end_session())
        finally:
            if self._card is not None:
                scard.SCardEndTransaction(self._card, scard.SCARD_LEAVE_CARD)

    def _manage(self, apdu: bytes, *, optional: bool = False) -> None:
        raw = self._transmit(apdu)
        if pcsc.is_bare_refusal(raw):
            # No C0 object at all: the reader does not know the command (6A81, 6D00, …).
            if optional:
                return
            raise _NoTransparent(f"it answers {raw.hex().upper()}")
        reply = pcsc.parse_transparent(raw)
        if reply.kind is StatusKind.OK:
            self._transparent = True
            return
        if reply.kind in _NOT_SUPPORTED:
            if optional:
                return  # readers that pick the protocol by themselves refuse the switch
            raise _NoTransparent(str(reply.kind.value))
        reply.checked()

    def _no_transparent(self, refused: _NoTransparent) -> None:
        """Remember (until the next reconnect) and say once per reader: no air commands.

        A reader whose sessions worked before on this connection is not written off
        by one refusal (a firmware hiccup): that exchange fails as a reader error,
        which callers retry, and the next one tries the session again.
        """
        if self._transparent:
            raise DeviceError(
                f"{self.url}: the reader refused a transparent session this time ({refused})"
            )
        self._transparent = False
        name = self._reader or self.url
        if name not in self._told:
            self._told.add(name)
            log.warning("%s: %s (%s)", self.url, NO_TRANSPARENT, refused)

    def _cannot(self, what: str) -> ReaderCannot:
        return ReaderCannot(f"{self.url}: this reader cannot {what}: {NO_TRANSPARENT}")

    def _transceive(self, frame: bytes) -> pcsc.TransparentReply:
        timer = int(self.rf_timeout * 1_000_000)
        return pcsc.parse_transparent(self._transmit(pcsc.transceive(frame, timer)))

    def _exchange(self, uid: bytes | None, frame: bytes, what: str) -> bytes | None:
        """Send one raw ISO 15693 request; the tag's answer, or None when no tag answered.

        A collision (several tags answered an unaddressed request) returns b"".
        ``what`` names the operation for the error of a reader that cannot send it.
        """
        label = uid.hex().upper() if uid else "any tag"
        if self._transparent is False:
            raise self._cannot(what)
        try:
            if not self._any_card():
                if uid is None:
                    return None
                raise TagNotFound(f"no tag on the reader (wanted {label})")
            with self._session():
                reply = self._transceive(frame)
        except _CardGone:
            if uid is None:
                return None
            raise TagNotFound(f"tag {label} left the reader") from None
        except _NoTransparent as refused:
            self._no_transparent(refused)
            raise self._cannot(what) from None
        except PcscApduError as error:
            raise TagNotFound(f"tag {label}: unreadable answer ({error})") from None
        kind = reply.kind
        if kind is StatusKind.NO_RESPONSE:
            return None
        if kind is StatusKind.COLLISION:
            return b""
        if kind in _NOT_SUPPORTED:
            raise TagError(f"{self.url}: transparent exchange refused ({kind.value})")
        if kind is not StatusKind.OK:
            raise TagNotFound(f"tag {label}: {kind.value}")
        return reply.icc_response or b""

    def _command(
        self, uid: bytes, frame: bytes, what: str = "send raw ISO 15693 requests"
    ) -> bytes:
        with self._lock:
            self._ready()
            answer = self._exchange(uid, frame, what)
        if answer is None:
            raise TagNotFound(f"tag {uid.hex().upper()} did not answer")
        return answer

    def _status_command(self, uid: bytes, frame: bytes, what: str) -> None:
        _check_status(uid, self._command(uid, frame, what))

    def system_info(self, uid: bytes) -> TagInfo:
        answer = self._command(uid, air.get_system_info(uid), "read system information (AFI)")
        try:
            info = air.parse_system_info(answer)
        except air.Iso15693Error as error:
            raise _tag_error(uid, error) from None
        if info.uid != uid:
            raise TagNotFound(f"asked {uid.hex().upper()}, {info.uid.hex().upper()} answered")
        return TagInfo(
            uid=info.uid,
            dsfid=info.dsfid or 0,
            afi=info.afi or 0,
            block_size=info.block_size or self.block_size,
            block_count=info.block_count or 0,
            ic_reference=info.ic_reference or 0,
        )

    def write_afi(self, uid: bytes, afi: int) -> None:
        self._status_command(uid, air.write_afi(uid, afi), "write the AFI")

    def lock_afi(self, uid: bytes) -> None:
        self._status_command(uid, air.lock_afi(uid), "lock the AFI")

    def set_eas(self, uid: bytes) -> None:
        self._status_command(uid, air.set_eas(uid), "set EAS")

    def reset_eas(self, uid: bytes) -> None:
        self._status_command(uid, air.reset_eas(uid), "reset EAS")

    def eas_alarm(self, uid: bytes | None = None) -> bool:
        with self._lock:
            self._ready()
            try:
                answer = self._exchange(uid, air.eas_alarm(uid), "ask for the EAS alarm")
            except TagNotFound:
                return False
        if answer is None:
            return False
        if answer == b"":
            return True  # several tags answered at once: at least one is secured
        try:
            air.parse_response(answer)
        except air.Iso15693Error as error:
            if error.code is not None:
                raise TagError(str(error), code=error.code) from None
            return True  # garbled, but something answered the alarm
        return True


def _check_status(uid: bytes, answer: bytes) -> None:
    try:
        air.parse_status(answer)
    except air.Iso15693Error as error:
        raise _tag_error(uid, error) from None


def _tag_error(uid: bytes, error: air.Iso15693Error) -> Exception:
    if error.code is not None:
        return TagError(f"tag {uid.hex().upper()}: {error}", code=error.code)
    return TagNotFound(f"tag {uid.hex().upper()}: unreadable answer ({error})")


def _ok(hresult: int) -> bool:
    return int(hresult) & 0xFFFFFFFF == SCARD_S_SUCCESS


def _message(hresult: int) -> str:
    code = int(hresult) & 0xFFFFFFFF
    try:
        text = str(scard.SCardGetErrorMessage(hresult))
    except Exception:  # pragma: no cover - pyscard's message table is best effort
        text = "PC/SC error"
    return f"{text} (0x{code:08X})"
