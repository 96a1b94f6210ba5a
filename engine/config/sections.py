"""Role sections of the configuration that live in their role's package (``[sorter]``).

The engine never imports a role (import-linter), yet ``muontra config check``
must validate every section of a device's file, its role's too. So a role
registers its section's pydantic model in the ``muontra.config_sections``
entry-point group (``sorter = "sorter.settings:SorterSettings"`` in
pyproject.toml), the way ``sip2+sim://`` reaches the simulator through
``muontra.ils``; the engine looks the model up by the section's name when it
validates a file. An install without the role does not know its section, and
says so.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from pydantic import BaseModel

ENTRY_POINT_GROUP = "muontra.config_sections"


class SectionUnknown(LookupError):
    """No installed package provides the section."""


def names() -> list[str]:
    """The role sections of the installed packages."""
    return sorted(entry.name for entry in entry_points(group=ENTRY_POINT_GROUP))


def model_for(name: str) -> type[BaseModel]:
    """The pydantic model of role section ``name``; SectionUnknown when none is installed."""
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            loaded = entry.load()
            if not (isinstance(loaded, type) and issubclass(loaded, BaseModel)):
                raise SectionUnknown(f"[{name}]: {entry.value} is not a configuration model")
            return loaded
    raise SectionUnknown(f"[{name}]: no installed package provides this section")
