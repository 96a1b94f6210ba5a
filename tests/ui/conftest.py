"""The touchscreen's tests: offscreen Qt, software rendering, an engine on simulators in-process.

``Station`` is the engine side (ILS simulator + Engine + ApiServer on a tmp
socket) that a test can stop and start again to play an engine restart; the
``ui`` fixture is the real QML window, connected to it over the socket.
"""

from __future__ import annotations

import contextlib
import os
import socket

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_QUICK_BACKEND", "software")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import load_config
from kiosk.api import ApiClient, ApiServer
from kiosk.core import Engine
from tests.engine.harness import ils_simulator, write_config


class _TrackingApiServer(ApiServer):
    """An ApiServer that also hangs up on its clients when closed, as a dying process does.

    ``ApiServer.close`` only stops listening; a connection already accepted would
    stay open in-process, which is not what an engine restart looks like.
    """

    def get_request(self) -> Any:
        request = super().get_request()
        self.__dict__.setdefault("accepted", []).append(request[0])
        return request

    def close(self) -> None:
        super().close()
        for conn in self.__dict__.get("accepted", []):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Station:
    def __init__(self, config_path: Path) -> None:
        self.config = load_config(config_path)
        self.socket = self.config.device.api_socket
        self.engine: Engine | None = None
        self.api: ApiServer | None = None
        self.client: ApiClient | None = None

    def start(self) -> None:
        self.engine = Engine(self.config)
        self.engine.start()
        self.api = _TrackingApiServer(self.socket, self.engine)
        self.api.serve_in_thread()
        self.client = ApiClient(self.socket)

    def call(self, cmd: str, **args: Any) -> Any:
        assert self.client is not None
        return self.client.result(cmd, **args)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.api is not None:
            self.api.close()
        if self.engine is not None:
            self.engine.stop()
        self.client = self.api = self.engine = None


def make_station(tmp_path: Path, port: int, **config: Any) -> Station:
    return Station(write_config(tmp_path, port, **config))


@pytest.fixture
def ils(tmp_path: Path) -> Iterator[Any]:
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        yield sim


@pytest.fixture
def station(tmp_path: Path, ils: Any) -> Iterator[Station]:
    s = make_station(tmp_path, ils.port, role="both")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def ui(qapp: Any, station: Station, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from ui.app import Options, build

    monkeypatch.setenv("MUONTRA_STAFF_PIN", "2468")
    app = build(Options(socket=station.socket, size=(800, 1200)))
    yield app
    app.close()
