"""The ``rig`` fixture: every TagReader implementation, one after the other.

Each backend lives in ``tests/contract/rigs/<name>.py`` and exposes ``rig(tmp_path)``,
a context manager yielding a :class:`~tests.contract.rigs.base.Rig`; a backend whose
system parts are missing (no pcscd, no vpcd) skips with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.rigs.base import Rig

BACKENDS = ["sim", "feig", "threem", "pcsc", "pcsc_storage"]


@pytest.fixture(params=BACKENDS)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    module = importlib.import_module(f"tests.contract.rigs.{request.param}")
    with module.rig(tmp_path) as made:
        yield made
