"""Fixtures of the engine tests: the ILS simulator over TCP and a kiosk on simulators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ilssim.server import SimServerThread
from ilssim.store import Store
from tests.engine.harness import Kiosk, ils_simulator, write_config


@pytest.fixture
def ils(tmp_path: Path) -> Iterator[tuple[SimServerThread, Store]]:
    with ils_simulator(tmp_path / "ils.sqlite") as running:
        yield running


@pytest.fixture
def kiosk(tmp_path: Path, ils: tuple[SimServerThread, Store]) -> Iterator[Kiosk]:
    k = Kiosk(write_config(tmp_path, ils[0].port))
    yield k
    k.close()


@pytest.fixture
def fast_kiosk(
    tmp_path: Path, ils: tuple[SimServerThread, Store], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Kiosk]:
    """A kiosk whose maintenance loop (reconcile, offline replay) runs every 50 ms,
    with its ILS simulator in reach of ``sim_ils``."""
    from kiosk.core import Engine

    monkeypatch.setattr(Engine, "maintenance_every", 0.05)
    k = Kiosk(write_config(tmp_path, ils[0].port))
    k.engine.ils_simulator = ils[0]
    yield k
    k.close()
