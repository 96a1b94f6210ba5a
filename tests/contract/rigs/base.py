"""What a contract-test rig gives the shared TagReader cases.

Each rig wires one driver (opened by URL, as the engine opens it) to the far
end of a simulated device backed by a :class:`TagField`, so a case can place
tags, flip faults and unplug the device, then check what the driver reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.interfaces import TagReader
from drivers.sim.field import TagField


@dataclass
class Rig:
    name: str
    reader: TagReader
    field: TagField
    unplug: Callable[[], None]
    """Make the device disappear (port gone, reader removed)."""
    replug: Callable[[], None]
    """Bring it back, at the same URL."""
    features: set[str] = field(default_factory=set)
    """Optional abilities the cases may rely on: "anticollision" (every tag of the field,
    not only the one a PC/SC reader shows as its card), "air" (system information and
    AFI), "eas", "lock_afi". A reader without one must refuse it with a TagError,
    never answer as if it had done it."""
