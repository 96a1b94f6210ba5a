"""A simulated PLC: pymodbus's own Modbus TCP server, its coils and inputs wired to a conveyor.

``modbus+tcp://`` is tested, demonstrated and benchmarked against this: a real
Modbus TCP server on loopback, whose datastore hook (pymodbus's SimDevice
``action``) turns coil writes into the simulated machine's outputs and
answers discrete-input reads with the machine's eyes and full sensors, under
the same :class:`~drivers.conveyor_modbus.PlcMap` the driver uses.

Like a real PLC it has a watchdog: when the heartbeat register has not been
written for ``watchdog`` seconds it stops the belt, closes the shutter and
pulls every diverter in, and it keeps running while its network is down —
``stop()`` takes the server off the network (every connection drops),
``start()`` puts it back on the same port.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, cast

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimData, SimDevice
from pymodbus.simulator.simutils import DataType

from drivers.conveyor_modbus import PlcMap
from drivers.interfaces import DeviceUnavailable
from drivers.sim.conveyor import ConveyorMachine

log = logging.getLogger(__name__)

READ_COILS, READ_INPUTS = 1, 2
WRITE_COIL, WRITE_COILS = 5, 15
WRITE_REGISTER, WRITE_REGISTERS = 6, 16


def _bits(highest: int) -> int:
    """Enough bits, in whole 16-bit registers, to hold address ``highest``."""
    return (highest // 16 + 1) * 16


class SimPlc:
    def __init__(
        self,
        machine: ConveyorMachine,
        plc_map: PlcMap,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        unit: int = 1,
        watchdog: float | None = 0.5,
    ) -> None:
        self.machine = machine
        self.map = plc_map
        self.host = host
        self.port = port
        self.unit = unit
        self.watchdog = watchdog if plc_map.heartbeat is not None else None
        self.heartbeats = 0
        self.watchdog_trips = 0
        self._last_beat = time.monotonic()
        self._coil_names = {a: name for name, a in plc_map.coils.items()}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-plc", daemon=True)
        self._thread.start()
        self._server: ModbusTcpServer | None = None
        self._closed = threading.Event()
        self._dog: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def url(self, **extra: str) -> str:
        """The ``modbus+tcp://`` URL of this PLC under its map."""
        query = [f"unit={self.unit}"]
        coils = self.map.coils
        query.append(f"belt={coils['belt']}&shutter={coils['shutter']}")
        diverters = [str(coils[f"diverter{n}"]) for n in range(1, self.map.diverters + 1)]
        query.append("diverters=" + ",".join(diverters))
        inputs = self.map.inputs
        for key in ("intake", "reader", "end"):
            if key in inputs:
                query.append(f"{key}={inputs[key]}")
        for key in ("at", "full"):
            listed = [
                str(inputs[f"{key}{n}"])
                for n in range(1, self.map.diverters + 1)
                if f"{key}{n}" in inputs
            ]
            if listed:
                query.append(f"{key}=" + ",".join(listed))
        heartbeat = -1 if self.map.heartbeat is None else self.map.heartbeat
        query.append(f"heartbeat={heartbeat}")
        query += [f"{k}={v}" for k, v in extra.items()]
        return f"modbus+tcp://{self.host}:{self.port}?" + "&".join(query)

    def start(self) -> int:
        """Serve (again, on the same port after ``stop``); returns the port."""
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        if self._dog is None and self.watchdog is not None:
            self._last_beat = time.monotonic()
            self._dog = threading.Thread(target=self._watch, name="sim-plc-dog", daemon=True)
            self._dog.start()
        return self.port

    def stop(self) -> None:
        """Off the network: the listening socket and every connection close."""
        server, self._server = self._server, None
        if server is not None:
            asyncio.run_coroutine_threadsafe(cast(Any, server).shutdown(), self._loop).result(
                timeout=10
            )

    def close(self) -> None:
        self.stop()
        self._closed.set()
        if self._dog is not None:
            self._dog.join(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _serve(self) -> None:
        plc_map = self.map
        coil_bits = _bits(max(plc_map.coils.values()))
        input_bits = _bits(max(plc_map.inputs.values(), default=0))
        registers = (plc_map.heartbeat or 0) + 1
        device = SimDevice(
            self.unit,
            simdata=(
                [SimData(0, count=coil_bits, values=False, datatype=DataType.BITS)],
                [SimData(0, count=input_bits, values=False, datatype=DataType.BITS)],
                [SimData(0, count=registers, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
            ),
            action=self._action,
        )
        server = ModbusTcpServer(device, address=(self.host, self.port))
        await server.serve_forever(background=True)
        if self.port == 0:
            self.port = int(server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        self._server = server

    async def _action(  # noqa: PLR0917 (pymodbus calls it with six positional arguments)
        self,
        function: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus's hook on every access: the machine is the truth behind the registers."""
        machine = self.machine
        if function in (READ_COILS, READ_INPUTS):
            with machine.lock:
                machine.catch_up()
                if function == READ_COILS:
                    table = self.map.coils
                    levels: dict[str, bool] = {
                        name: (
                            machine.diverter_out(int(name[8:]))
                            if name.startswith("diverter")
                            else machine.outputs[name]
                        )
                        for name in table
                    }
                else:
                    table = self.map.inputs
                    levels = dict(machine.inputs)
            _pack(registers, start, {a: levels[name] for name, a in table.items()})
        elif function in (WRITE_COIL, WRITE_COILS) and values is not None:
            for offset, value in enumerate(values):
                name = self._coil_names.get(address + offset)
                if name is None:
                    continue
                try:
                    machine.set_output(name, bool(value))
                except DeviceUnavailable:
                    return ExcCodes.DEVICE_FAILURE
        elif function in (WRITE_REGISTER, WRITE_REGISTERS) and values is not None:
            heartbeat = self.map.heartbeat
            if heartbeat is not None and address <= heartbeat < address + len(values):
                self.heartbeats += 1
                self._last_beat = time.monotonic()
        return None

    def _watch(self) -> None:
        """The PLC's watchdog: no heartbeat for ``watchdog`` seconds → safe state, once a lapse."""
        assert self.watchdog is not None
        tripped = False
        while not self._closed.wait(self.watchdog / 5):
            quiet = time.monotonic() - self._last_beat > self.watchdog
            if quiet and not tripped:
                tripped = True
                self.watchdog_trips += 1
                log.info("simulated PLC: no heartbeat for %.2f s, safe state", self.watchdog)
                for name in self.map.coils:
                    try:
                        self.machine.set_output(name, False)
                    except DeviceUnavailable:
                        break
            elif not quiet:
                tripped = False


def _pack(registers: list[int], start: int, levels: dict[int, bool]) -> None:
    """Set the 16-bit registers of a bit block from address → level (bit 0 first)."""
    for index in range(len(registers)):
        registers[index] = 0
    for address, level in levels.items():
        if level:
            registers[address // 16 - start] |= 1 << (address % 16)


def standard_plc(machine: ConveyorMachine, **options: Any) -> SimPlc:
    """A simulated PLC on muontra's standard register map for the machine's bins."""
    return SimPlc(machine, PlcMap.standard(machine.diverters), **options)
