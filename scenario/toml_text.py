"""Writing a generated config as TOML, every value quoted as TOML requires.

The scenario runner builds the engine's config from a scenario's ``[kiosk]``
table. Pasting those values into a template let a value carrying a quote and a
newline add keys of its own (``role = "x"\\npin = "never"``); here every string
is escaped (backslash, quote and every control character, as TOML's basic
strings demand) and only plain values are accepted, so a value stays a value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quoted, with quote, backslash and controls escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """A plain value (string, boolean, integer, finite float, list of these) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ValueError(f"not a plain value (string, number, boolean or list): {value!r}")


def toml_nested(value: Any) -> str:
    """Like :func:`toml_value`, and a mapping as an inline table (its keys quoted too, as a
    sort bin code ``"1"`` must be): for the runner's own structured config, never for a
    scenario's values, which stay plain."""
    if isinstance(value, Mapping):
        pairs = (f"{toml_string(str(k))} = {toml_nested(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_nested(v) for v in value) + "]"
    return toml_value(value)


def toml_document(tables: Mapping[str, Mapping[str, Any]], *, nested: bool = False) -> str:
    """Tables of plain values (with ``nested``, inline tables too: :func:`toml_nested`);
    table and key names are the caller's own (never quoted)."""
    write = toml_nested if nested else toml_value
    lines: list[str] = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {write(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)
