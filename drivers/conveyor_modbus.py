"""``modbus+tcp://HOST:PORT?…``: a large return machine whose mechanics a PLC runs, over Modbus TCP.

The PLC owns the motors and solenoids; muontra reads its discrete inputs
(photo-eyes, bin-full sensors) and writes its coils (belt, shutter,
diverters) through pymodbus. The register map is in the URL, one address per
point, 0-based as on the wire::

    modbus+tcp://10.0.0.20:502?unit=1&belt=0&shutter=1&diverters=16,17,18
        &intake=0&reader=1&end=2&at=16,17,18&full=32,33,34&heartbeat=0

or, for a PLC programmed to muontra's standard map (docs/sorter-wiring.md),
just ``modbus+tcp://10.0.0.20:502?bins=3``: coils belt 0, shutter 1, diverter
n at 16+n-1; discrete inputs intake 0, reader 1, end 2, diverter eye n at
16+n-1, bin n full at 32+n-1; holding register 0 the heartbeat. Keys given
explicitly override the standard map; ``heartbeat=-1`` sends none.

Other parameters: ``unit=1`` the Modbus unit (device) id · ``poll=0.02``
seconds between input scans · ``timeout=0.5`` seconds an answer may take.

The link is watched: a thread scans the inputs (one request for every
discrete input, one for the coils) and writes the heartbeat register, a
counter that goes up by one per scan, so the PLC's own watchdog can stop the
belt and close the intake when muontra goes quiet. A failed or late answer
reports LINK_LOST; from then on commands raise DeviceUnavailable at once
(never a silent no-op) while the thread reconnects with backoff; the first
good scan reports LINK_BACK followed by every input that changed meanwhile.
A diverter pulse is its coil set, then cleared ``seconds`` later by a timer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from drivers.backoff import Backoff
from drivers.conveyor import (
    ConveyorEvent,
    ConveyorEventKind,
    ConveyorSnapshot,
    EventQueue,
    check_diverter,
    edge_event,
    snapshot_of,
)
from drivers.interfaces import DeviceError, DeviceState, DeviceUnavailable
from drivers.registry import DeviceUrl, DeviceUrlError, parse_url

log = logging.getLogger(__name__)

MAX_BITS = 2000
"""The most coils or discrete inputs one Modbus read may ask for."""


@dataclass(frozen=True, slots=True)
class PlcMap:
    """Which coil, discrete input and holding register each point of the machine is."""

    coils: dict[str, int]
    """``belt``, ``shutter``, ``diverter1``… → coil address."""
    inputs: dict[str, int]
    """``intake``, ``reader``, ``end``, ``at1``…, ``full1``… → discrete input address."""
    heartbeat: int | None
    """The holding register the heartbeat counter goes to, or None."""
    diverters: int

    @classmethod
    def standard(cls, bins: int) -> PlcMap:
        coils = {"belt": 0, "shutter": 1}
        inputs = {"intake": 0, "reader": 1, "end": 2}
        for n in range(1, bins + 1):
            coils[f"diverter{n}"] = 16 + n - 1
            inputs[f"at{n}"] = 16 + n - 1
            inputs[f"full{n}"] = 32 + n - 1
        return cls(coils, inputs, 0, bins)

    @classmethod
    def from_url(cls, url: DeviceUrl) -> PlcMap:
        def addresses(key: str) -> list[int] | None:
            listed = url.params.get(key)
            if listed is None:
                return None
            try:
                found = [int(part, 0) for part in listed.split(",") if part]
            except ValueError:
                raise DeviceUrlError(
                    f"{url.raw}: {key}={listed!r} is not a list of addresses"
                ) from None
            if any(not 0 <= a <= 0xFFFF for a in found):
                raise DeviceUrlError(f"{url.raw}: {key}= has an address outside 0…65535")
            return found

        bins = url.integer("bins", 0)
        diverter_coils = addresses("diverters")
        if diverter_coils is None and bins <= 0:
            raise DeviceUrlError(
                f"{url.raw}: give bins=N for the standard map or diverters=COIL,COIL… for your own"
            )
        count = len(diverter_coils) if diverter_coils is not None else bins
        if count == 0:
            raise DeviceUrlError(f"{url.raw}: diverters= lists no coils")
        if bins and diverter_coils is not None and bins != count:
            raise DeviceUrlError(f"{url.raw}: bins={bins} but diverters= lists {count} coils")
        base = cls.standard(count) if bins else cls({}, {}, None, count)
        coils = dict(base.coils)
        inputs = dict(base.inputs)
        for key in ("belt", "shutter"):
            single = addresses(key)
            if single is not None:
                coils[key] = single[0]
            if key not in coils:
                raise DeviceUrlError(f"{url.raw}: {key}= (the {key}'s coil) is missing")
        if diverter_coils is not None:
            coils.update({f"diverter{n}": a for n, a in enumerate(diverter_coils, start=1)})
        for key in ("intake", "reader", "end"):
            single = addresses(key)
            if single is not None:
                inputs[key] = single[0]
        for key in ("at", "full"):
            many = addresses(key)
            if many is None:
                continue
            if len(many) != count:
                raise DeviceUrlError(f"{url.raw}: {key}= lists {len(many)} inputs for {count} bins")
            inputs.update({f"{key}{n}": a for n, a in enumerate(many, start=1)})
        for kind, table in (("coil", coils), ("discrete input", inputs)):
            used = list(table.values())
            doubles = sorted({a for a in used if used.count(a) > 1})
            if doubles:
                raise DeviceUrlError(f"{url.raw}: {kind} {doubles[0]} is mapped twice")
        for kind, table in (("coils", coils), ("discrete inputs", inputs)):
            if table and max(table.values()) - min(table.values()) >= MAX_BITS:
                raise DeviceUrlError(f"{url.raw}: the {kind} span more than {MAX_BITS} addresses")
        heartbeat = base.heartbeat
        if "heartbeat" in url.params:
            value = url.integer("heartbeat", -1)
            heartbeat = value if value >= 0 else None
        return cls(coils, inputs, heartbeat, count)


def _enough(bits: list[bool], count: int, url: str) -> list[bool]:
    """The bits of an answer, refused if the PLC sent fewer than were asked for."""
    if len(bits) < count:
        raise DeviceError(f"{url}: PLC answered {len(bits)} bits for {count}")
    return bits


def _span(table: dict[str, int]) -> tuple[int, int]:
    first = min(table.values())
    return first, max(table.values()) - first + 1


class ModbusConveyor:
    """The :class:`~drivers.conveyor.Conveyor` interface on a PLC, with the link watched."""

    def __init__(self, url: DeviceUrl | str) -> None:
        parts = parse_url(url) if isinstance(url, str) else url
        self.url = parts.raw
        host, _, port = parts.host.rpartition(":")
        if not host:
            raise DeviceUrlError(f"{self.url}: names no PLC (modbus+tcp://HOST:PORT?…)")
        try:
            self._port = int(port) if port else 502
        except ValueError:
            raise DeviceUrlError(f"{self.url}: port {port!r} is not a number") from None
        self._host = host.strip("[]")
        self.map = PlcMap.from_url(parts)
        self.diverters = self.map.diverters
        self._unit = parts.integer("unit", 1)
        self._poll = parts.number("poll", 0.02)
        self._timeout = parts.number("timeout", 0.5)
        if not (self._poll > 0 and self._timeout > 0):
            raise DeviceUrlError(f"{self.url}: poll and timeout must be above 0")
        self._client: Any = None
        self._io = threading.Lock()  # one request on the wire at a time
        self._events = EventQueue()
        self._inputs: dict[str, bool] = dict.fromkeys(self.map.inputs, False)
        self._outputs: dict[str, bool] = dict.fromkeys(self.map.coils, False)
        self._link_up = False
        self._ever_up = False
        self._heartbeat = 0
        self._refused: DeviceError | None = None
        self._backoff = Backoff(first=0.1, limit=2.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timers: dict[int, threading.Timer] = {}
        self._state = DeviceState.CLOSED

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        """Connect and start watching; raises DeviceUnavailable (and keeps trying) if no PLC."""
        if self._thread is None:
            self._stop.clear()
            self._state = DeviceState.CONNECTING
            self._connect_and_scan()
            self._thread = threading.Thread(target=self._watch, name="plc-watch", daemon=True)
            self._thread.start()
        if not self._link_up:
            refused = self._refused
            if not self._ever_up:
                # Said once, so that the sorter hears LINK_BACK when the PLC first answers.
                self._ever_up = True
                self._events.put(ConveyorEvent(ConveyorEventKind.LINK_LOST, time.monotonic()))
            if refused is not None:
                raise DeviceError(f"{refused} (check the register map; retrying)")
            raise DeviceUnavailable(f"{self.url}: PLC not answering (retrying)")

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=5)
        for timer in list(self._timers.values()):
            timer.cancel()
        if self._link_up:
            for name in self.map.coils:
                try:
                    self._write(name, False)
                except DeviceError:
                    break
        with self._io:
            if self._client is not None:
                self._client.close()
                self._client = None
        self._link_up = False
        self._state = DeviceState.CLOSED

    def now(self) -> float:
        return time.monotonic()

    def belt(self, run: bool) -> None:
        self._write("belt", run)

    def shutter(self, open_: bool) -> None:
        self._write("shutter", open_)

    def fire(self, diverter: int, seconds: float) -> None:
        check_diverter(self.url, diverter, self.diverters, seconds)
        name = f"diverter{diverter}"
        previous = self._timers.pop(diverter, None)
        if previous is not None:
            previous.cancel()
        self._write(name, True)
        timer = threading.Timer(seconds, self._end_pulse, (diverter, name))
        timer.daemon = True
        self._timers[diverter] = timer
        timer.start()

    def snapshot(self) -> ConveyorSnapshot:
        return snapshot_of(dict(self._inputs), dict(self._outputs), self.diverters, self._link_up)

    def poll(self, timeout: float) -> ConveyorEvent | None:
        if self._thread is None:
            # If the PLC is not there the watcher goes on trying and reports LINK_BACK.
            with contextlib.suppress(DeviceUnavailable):
                self.open()
        return self._events.get(timeout)

    # --- the wire ------------------------------------------------------------------------

    def _request(self, call: Callable[[Any], Any], probing: bool = False) -> Any:
        """One request; a dead link raises DeviceUnavailable, a refused one DeviceError.

        ``probing`` is the scan that decides whether a reconnected link is up.
        """
        with self._io:
            client = self._client
            if client is None or not (self._link_up or probing):
                raise DeviceUnavailable(f"{self.url}: PLC link is down")
            try:
                answer = call(client)
            except (ModbusException, OSError) as error:
                raise DeviceUnavailable(f"{self.url}: PLC did not answer: {error}") from error
        if answer.isError():
            raise DeviceError(f"{self.url}: PLC refused the request: {answer}")
        return answer

    def _write(self, name: str, on: bool) -> None:
        if not self._link_up:
            raise DeviceUnavailable(f"{self.url}: PLC link is down; {name} not switched")
        address = self.map.coils[name]
        try:
            self._request(lambda c: c.write_coil(address, on, device_id=self._unit))
        except DeviceUnavailable:
            self._lost()
            raise
        self._outputs[name] = on

    def _end_pulse(self, diverter: int, name: str) -> None:
        self._timers.pop(diverter, None)
        try:
            self._write(name, False)
        except DeviceError:
            log.warning("%s: diverter %d not cleared (the PLC's watchdog must)", self.url, diverter)

    def _scan(self, probing: bool = False) -> list[ConveyorEvent]:
        """Read every input and coil, write the heartbeat; the edges seen since the last scan."""
        unit = self._unit
        seen: dict[str, bool] = {}
        if self.map.inputs:
            first, count = _span(self.map.inputs)
            bits = _enough(
                self._request(
                    lambda c: c.read_discrete_inputs(first, count=count, device_id=unit), probing
                ).bits,
                count,
                self.url,
            )
            seen = {name: bool(bits[a - first]) for name, a in self.map.inputs.items()}
        at = time.monotonic()
        first, count = _span(self.map.coils)
        coils = _enough(
            self._request(lambda c: c.read_coils(first, count=count, device_id=unit), probing).bits,
            count,
            self.url,
        )
        self._outputs.update({name: bool(coils[a - first]) for name, a in self.map.coils.items()})
        if self.map.heartbeat is not None:
            self._heartbeat = (self._heartbeat + 1) & 0xFFFF
            register, beat = self.map.heartbeat, self._heartbeat
            self._request(lambda c: c.write_register(register, beat, device_id=unit), probing)
        edges = []
        for name, level in seen.items():
            if self._inputs[name] != level:
                self._inputs[name] = level
                edges.append(edge_event(name, level, at))
        return edges

    def _connect_and_scan(self) -> bool:
        with self._io:
            if self._client is None:
                self._client = ModbusTcpClient(
                    self._host, port=self._port, timeout=self._timeout, retries=0
                )
            connected = bool(self._client.connect())
        if not connected:
            self._backoff.failed()
            return False
        try:
            edges = self._scan(probing=True)
        except DeviceError as error:
            # Not answering, or answering "no such address": the map does not fit the
            # PLC's program. Either way the link is not usable; keep trying (a program
            # may be being loaded), and let open() say which it was.
            log.warning("%s: first scan failed: %s", self.url, error)
            self._refused = None if isinstance(error, DeviceUnavailable) else error
            with self._io:
                if self._client is not None:
                    self._client.close()
            self._backoff.failed()
            return False
        self._refused = None
        self._backoff.succeeded()
        self._link_up = True
        self._state = DeviceState.READY
        if self._ever_up:
            log.info("%s: PLC link back", self.url)
            self._events.put(ConveyorEvent(ConveyorEventKind.LINK_BACK, time.monotonic()))
        self._ever_up = True
        for edge in edges:
            self._events.put(edge)
        return True

    def _lost(self) -> None:
        with self._io:
            if not self._link_up:
                return
            self._link_up = False
            self._state = DeviceState.UNAVAILABLE
            if self._client is not None:
                self._client.close()
        self._backoff.failed()
        log.warning("%s: PLC link lost", self.url)
        self._events.put(ConveyorEvent(ConveyorEventKind.LINK_LOST, time.monotonic()))

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self._link_up:
                try:
                    for edge in self._scan():
                        self._events.put(edge)
                except DeviceUnavailable:
                    self._lost()
                except DeviceError as error:
                    log.warning("%s: %s", self.url, error)
                except Exception:
                    # Never let the watcher die silently: a link nobody watches is worse
                    # than one reported lost and reconnected.
                    log.exception("%s: unexpected failure while scanning the PLC", self.url)
                    self._lost()
                self._stop.wait(self._poll)
            elif self._backoff.ready():
                if not self._connect_and_scan():
                    self._stop.wait(self._backoff.remaining())
            else:
                self._stop.wait(self._backoff.remaining())
