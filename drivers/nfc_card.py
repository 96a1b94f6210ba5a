"""Patron cards: ``nfc://PATH`` through nfcpy, ``card+sim://NAME`` in process.

nfcpy's ``ContactlessFrontend.connect`` is a blocking loop that senses,
activates, watches presence and calls back on connect and release. It must
own its reader, so one background thread runs it and turns the callbacks
into :class:`CardEvent` values on a queue; ``poll`` only waits on that queue.
The loop is ended through nfcpy's own ``terminate`` callback, which is also
where the thread rests between sense rounds (no busy loop on a USB reader).

URL target = nfcpy's device path::

    nfc://usb                   the first supported USB reader
    nfc://usb:072f:2200         by vendor:product (ACS ACR122U)
    nfc://tty:USB0:pn532        /dev/ttyUSB0 with the PN532 driver
    nfc://udp:127.0.0.1:54321   nfcpy's UDP driver (tests, a peer emulating a card)

Parameters: ``targets=106A,106B,212F`` (what to sense: ISO 14443-A, -B,
FeliCa), ``interval=0.2`` (rest between sense rounds and presence checks,
seconds), ``beep=1`` (the reader's LED/buzzer on a read).

nfcpy is imported only when an ``nfc://`` reader is opened, so a gate without
nfcpy still starts, and ``card+sim://`` never needs it.

Card UIDs and the patron ids on cards identify people: they are logged only
as a short hash (:func:`card_ref`). nfcpy's own DEBUG log prints UIDs; keep
the ``nfc`` logger at INFO or above in production.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
from typing import Any

from drivers.backoff import Backoff
from drivers.interfaces import CardEvent, DeviceState, DeviceUnavailable
from drivers.registry import DeviceUrl, parse_url
from drivers.sim.named import Named

log = logging.getLogger(__name__)

DEFAULT_TARGETS = ("106A", "106B", "212F")
NDEF_READS = 3
"""Reads of a card's NDEF before it is reported without its text: a read at the edge of the
field, or on a busy host that misses the card's answer window, fails and the next succeeds."""
OPEN_WAIT = 10.0
"""How long ``open()`` waits for the first attempt to reach the reader (USB setup takes ~1 s)."""
JOIN_WAIT = 10.0
"""How long ``close()`` waits for nfcpy to notice ``terminate`` (a sense round over UDP is ~1 s)."""


def card_ref(uid: bytes) -> str:
    """A short, stable reference to a card for logs: never the UID itself."""
    return hashlib.sha256(uid).hexdigest()[:8]


def technology_of(bitrate_type: str) -> str:
    """Name the card technology from nfcpy's bitrate-and-type string ("106A", "212F")."""
    if bitrate_type.endswith("A"):
        return "ISO 14443-A"
    if bitrate_type.endswith("B"):
        return "ISO 14443-B"
    if bitrate_type.endswith("F"):
        return "FeliCa"
    return bitrate_type


def ndef_text(records: Any) -> str | None:
    """The first NDEF Text or URI record's content: where libraries put a patron id."""
    for record in records:
        text = getattr(record, "text", None)
        if isinstance(text, str):
            return text
        iri = getattr(record, "iri", None)
        if isinstance(iri, str):
            return iri
    return None


def _open_frontend(path: str) -> Any:
    """An opened nfcpy ContactlessFrontend on ``path``, or None when no reader is there.

    A module-level seam so tests can stand in for a reader that comes and goes.
    """
    import nfc

    frontend = nfc.ContactlessFrontend()
    try:
        if frontend.open(path):
            return frontend
    except OSError as error:  # a fully-qualified path that exists but cannot be used
        log.debug("nfc open %s failed: %s", path, error)
    return None


class NfcCardReader:
    """A :class:`~drivers.interfaces.PatronCardReader` on an NFC reader driven by nfcpy."""

    def __init__(self, url: DeviceUrl | str) -> None:
        self.url_parts = parse_url(url) if isinstance(url, str) else url
        self.url = self.url_parts.raw
        self.path = self.url_parts.target or "usb"
        targets = self.url_parts.params.get("targets", ",".join(DEFAULT_TARGETS))
        self.targets = tuple(t.strip() for t in targets.split(",") if t.strip())
        self.interval = self.url_parts.number("interval", 0.2)
        self.beep = self.url_parts.flag("beep", True)
        self._events: queue.Queue[CardEvent] = queue.Queue()
        self._state = DeviceState.CLOSED
        self._stop = threading.Event()
        self._first_attempt = threading.Event()
        self._thread: threading.Thread | None = None
        self._card: CardEvent | None = None
        """The card on the reader now, so a reader that vanishes still reports it gone."""
        self._backoff = Backoff()

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        """Start the reader thread; raises DeviceUnavailable if its first attempt found no reader.

        The thread keeps retrying after that, so the reader comes up by itself when plugged in.
        """
        if self._thread is None or not self._thread.is_alive():
            self._stop = threading.Event()
            self._first_attempt = threading.Event()
            self._state = DeviceState.CONNECTING
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name=f"nfc-card {self.path}", daemon=True
            )
            self._thread.start()
            self._first_attempt.wait(OPEN_WAIT)
        if self._state is DeviceState.UNAVAILABLE:
            raise DeviceUnavailable(f"{self.url}: no NFC reader on {self.path}")

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_WAIT)
            if thread.is_alive():
                log.warning("%s: reader thread did not stop within %.0f s", self.url, JOIN_WAIT)
        self._state = DeviceState.CLOSED

    def poll(self, timeout: float) -> CardEvent | None:
        """The next card event; None after ``timeout``, or DeviceUnavailable if the reader is gone.

        Events seen before the reader went away are still delivered first.
        """
        if self._state is DeviceState.CLOSED:
            self.open()
        try:
            return self._events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            if self._state is DeviceState.UNAVAILABLE:
                raise DeviceUnavailable(f"{self.url}: NFC reader unavailable") from None
            return None

    # --- the reader thread ------------------------------------------------------------

    def _run(self, stop: threading.Event) -> None:
        """The thread's life: open the reader, serve it, reopen it after a failure, until stop."""
        while not stop.is_set():
            frontend = _open_frontend(self.path)
            if frontend is None:
                self._unavailable("no reader")
                self._first_attempt.set()
                stop.wait(self._backoff.remaining())
                continue
            self._backoff.succeeded()
            if self._state is not DeviceState.READY:
                log.info("%s: ready", self.url)
            self._state = DeviceState.READY
            self._first_attempt.set()
            try:
                self._serve(frontend, stop)
            finally:
                self._card_gone()
                frontend.close()
        self._first_attempt.set()

    def _serve(self, frontend: Any, stop: threading.Event) -> None:
        """Run nfcpy's connect loop until close() or until the reader fails."""
        options = {
            "targets": list(self.targets),
            "on-connect": self._on_connect,
            "on-release": self._on_release,
            "iterations": 1,
            "interval": self.interval,
            "beep-on-connect": self.beep,
        }

        def rest() -> bool:
            """nfcpy's ``terminate`` callback, asked between sense rounds and presence checks.

            Waiting here rather than in nfcpy's ``interval`` keeps close() prompt: the
            wait ends as soon as close() sets the stop event.
            """
            return stop.wait(self.interval)

        while not stop.is_set():
            try:
                result = frontend.connect(rdwr=options, terminate=rest)
            except Exception as error:  # nfcpy lets some driver errors through
                self._unavailable(f"{type(error).__name__}: {error}")
                return
            if result is False:  # nfcpy's word for an I/O error: it logged it
                self._unavailable("reader stopped answering")
                return

    def _on_connect(self, tag: Any) -> bool:
        uid = bytes(tag.identifier)
        technology = technology_of(str(getattr(tag.target, "brty", "")))
        text = self._read_text(tag, uid)
        event = CardEvent(present=True, uid=uid, technology=technology, text=text)
        self._card = event
        log.info("card %s on (%s, %s)", card_ref(uid), technology, "text" if text else "no text")
        self._events.put(event)
        return True  # let nfcpy watch presence and call on-release

    def _read_text(self, tag: Any, uid: bytes) -> str | None:
        """The card's NDEF text, read again (NDEF_READS in all) while reads fail and it stays.

        A card slid onto the reader can be activated at the edge of the field and lose
        the NDEF read; nfcpy reads NDEF again on the next access to ``tag.ndef``, and a
        patron reported without their id would be sent to the wrong account lookup.
        """
        for attempt in range(1, NDEF_READS + 1):
            try:
                found = tag.ndef
                if found is not None:
                    return ndef_text(found.records)
                if attempt == NDEF_READS or not tag.is_present:
                    return None
            except Exception as error:  # a badly formatted card is still a card
                log.info("card %s: NDEF unreadable (%s)", card_ref(uid), type(error).__name__)
                return None
        return None

    def _on_release(self, tag: Any) -> bool:
        self._card_gone()
        return True  # back to our loop, which asks nfcpy to sense again

    def _card_gone(self) -> None:
        card, self._card = self._card, None
        if card is not None:
            log.info("card %s off", card_ref(card.uid))
            self._events.put(_gone(card))

    def _unavailable(self, why: str) -> None:
        if self._state is not DeviceState.UNAVAILABLE:
            log.warning("%s: unavailable (%s); retrying", self.url, why)
        self._state = DeviceState.UNAVAILABLE
        self._backoff.failed()


class SimCardSlot(Named):
    """The simulated reader surface of ``card+sim://NAME``: at most one card lies on it.

    Shared by every SimCardReader on NAME in this process; each open reader
    gets its own copy of every event, and one that opens while a card lies
    there sees it arrive, as a real reader would. Unplugging the reader
    (a fault switch) reports the card gone, as NfcCardReader does when its
    reader vanishes; plugging it back in reports the card again.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.card: CardEvent | None = None
        self._unplugged = False
        self._listeners: list[queue.Queue[CardEvent]] = []

    @property
    def unplugged(self) -> bool:
        return self._unplugged

    def present(self, uid: bytes, text: str | None = None, technology: str = "ISO 14443-A") -> None:
        """Lay a card on the reader; another card lying there is taken off first."""
        event = CardEvent(present=True, uid=bytes(uid), technology=technology, text=text)
        with self.lock:
            if self.card == event:
                return
            self._take_off()
            self.card = event
            self._tell(event)

    def remove(self) -> None:
        with self.lock:
            self._take_off()

    def unplug(self) -> None:
        with self.lock:
            if not self._unplugged and self.card is not None:
                self._tell(_gone(self.card))
            self._unplugged = True

    def plug_in(self) -> None:
        with self.lock:
            self._unplugged = False
            if self.card is not None:
                self._tell(self.card)

    def listen(self) -> queue.Queue[CardEvent]:
        events: queue.Queue[CardEvent] = queue.Queue()
        with self.lock:
            self._listeners.append(events)
            if self.card is not None and not self._unplugged:
                events.put(self.card)
        return events

    def unlisten(self, events: queue.Queue[CardEvent]) -> None:
        with self.lock:
            if events in self._listeners:
                self._listeners.remove(events)

    def _take_off(self) -> None:
        card, self.card = self.card, None
        if card is not None:
            self._tell(_gone(card))

    def _tell(self, event: CardEvent) -> None:
        if self._unplugged:
            return
        for events in self._listeners:
            events.put(event)


def _gone(card: CardEvent) -> CardEvent:
    return CardEvent(present=False, uid=card.uid, technology=card.technology, text=card.text)


def _uid(value: bytes | str) -> bytes:
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


class SimCardReader:
    """``card+sim://NAME``: a PatronCardReader on a :class:`SimCardSlot`, for tests and the demo.

    ``present``/``remove`` on any reader of NAME move the card for all of them;
    ``unplug``/``plug_in`` flip the reader-unplugged fault switch.
    ``card+sim://desk?uid=04A1B2C3D4E5F6&text=P0001`` starts with that card
    lying on a new slot.
    """

    def __init__(self, url: DeviceUrl | str) -> None:
        self.url_parts = parse_url(url) if isinstance(url, str) else url
        self.url = self.url_parts.raw
        name = self.url_parts.target or "card"
        fresh = not SimCardSlot.exists(name)
        self.slot = SimCardSlot.named(name)
        self._state = DeviceState.CLOSED
        self._events: queue.Queue[CardEvent] | None = None
        uid = self.url_parts.params.get("uid")
        if fresh and uid:
            self.slot.present(_uid(uid), self.url_parts.params.get("text"))

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        if self._events is None:
            self._events = self.slot.listen()
        if self.slot.unplugged:
            self._state = DeviceState.UNAVAILABLE
            raise DeviceUnavailable(f"{self.url}: card reader unplugged")
        self._state = DeviceState.READY

    def close(self) -> None:
        if self._events is not None:
            self.slot.unlisten(self._events)
            self._events = None
        self._state = DeviceState.CLOSED

    def poll(self, timeout: float) -> CardEvent | None:
        """Like NfcCardReader: queued events first, DeviceUnavailable after waiting if unplugged."""
        if self._events is None:
            # Unplugged: wait out the timeout below rather than fail fast into a caller's loop.
            with contextlib.suppress(DeviceUnavailable):
                self.open()
        assert self._events is not None
        try:
            event = self._events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            event = None
        if self.slot.unplugged:
            self._state = DeviceState.UNAVAILABLE
            if event is None:
                raise DeviceUnavailable(f"{self.url}: card reader unplugged")
        else:
            self._state = DeviceState.READY
        return event

    # --- what a person (test, demo, simulator panel) does -----------------------------

    def present(
        self, uid: bytes | str, text: str | None = None, technology: str = "ISO 14443-A"
    ) -> None:
        """Lay a card (UID as bytes or hex) on the reader, with an optional NDEF text."""
        self.slot.present(_uid(uid), text, technology)

    def remove(self) -> None:
        """Take the card off the reader (nothing happens if none lies there)."""
        self.slot.remove()

    def unplug(self) -> None:
        self.slot.unplug()

    def plug_in(self) -> None:
        self.slot.plug_in()
