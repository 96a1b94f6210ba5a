"""ILS links that are not a network ILS, found by their URL scheme through entry points.

``sip2+sim://`` runs the ILS simulator inside the process. The engine must not
import the simulator (it is a tool and a test peer, not production code), so the
scheme is resolved here, lazily, through the ``muontra.ils`` entry-point group,
as drivers/registry.py resolves device schemes: the simulator's package
registers ``sip2+sim = "ilssim.running:running_simulator"`` in pyproject.toml,
and a third party can add a scheme the same way. An engine installed without the
simulator simply does not know the scheme.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

ENTRY_POINT_GROUP = "muontra.ils"


class IlsSchemeError(ValueError):
    """An ILS URL scheme that no installed package provides."""


class SimulatedIlsFaults(Protocol):
    """The fault switches a simulated ILS has, as far as the engine turns them."""

    latency: float
    down: bool


class SimulatedIls(Protocol):
    """A simulated ILS serving SIP2 on loopback, which the engine may slow down or take down."""

    @property
    def port(self) -> int: ...

    @property
    def faults(self) -> SimulatedIlsFaults: ...

    def drop_all_connections(self) -> None: ...


# Called with the path of the simulator's store; yields the running server and its store.
EmbeddedStarter = Callable[[Path], AbstractContextManager[tuple[SimulatedIls, Any]]]


def schemes() -> list[str]:
    """The in-process ILS schemes of the installed packages."""
    return sorted(entry.name.lower() for entry in entry_points(group=ENTRY_POINT_GROUP))


def starter_for(scheme: str) -> EmbeddedStarter:
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name.lower() == scheme:
            loaded: EmbeddedStarter = entry.load()
            return loaded
    known = ", ".join(schemes()) or "none installed"
    raise IlsSchemeError(f"no package provides the ILS scheme {scheme!r}; known: {known}")
