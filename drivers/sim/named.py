"""Simulated devices shared by name within a process: ``sim://pad``, ``card+sim://card``.

Every driver opened on the same name reaches the same simulated thing, so a
test, a scenario or the simulator panel can move tags, show cards or scan
codes under the engine's drivers. Each subclass gets its own registry.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Self


class Named:
    _registry: ClassVar[dict[str, Any]]
    _registry_lock: ClassVar[threading.Lock]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._registry = {}
        cls._registry_lock = threading.Lock()

    @classmethod
    def named(cls, name: str) -> Self:
        """The instance of ``name``, made on first use."""
        with cls._registry_lock:
            if name not in cls._registry:
                cls._registry[name] = cls()
            found: Self = cls._registry[name]
            return found

    @classmethod
    def exists(cls, name: str) -> bool:
        with cls._registry_lock:
            return name in cls._registry

    @classmethod
    def forget(cls, name: str) -> None:
        with cls._registry_lock:
            cls._registry.pop(name, None)
