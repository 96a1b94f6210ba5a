"""`muontra config check` on central's file: the ``[central]`` table, located like a device's.

A file whose top level holds ``[central]`` is `muontra central`'s, not a device's
(central/settings.py). The engine never imports central (import-linter), so its model
comes the way a role section's does, by the ``muontra.config_sections`` entry point
named ``central``; problems are reported as ``FILE:LINE: central.KEY: message`` with a
"did you mean" for a misspelt key, exactly as for the device roles.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.config.lines import KeyPath, TooDeep, find_line, key_lines
from engine.config.model import (
    MAX_CONFIG_BYTES,
    ConfigError,
    ConfigProblem,
    _relative_problems,
    _syntax_problem,
    read_regular_file,
)
from engine.config.sections import SectionUnknown, model_for

__all__ = ["SECTION", "is_central", "load_central", "parse_central"]

SECTION = "central"


def is_central(path: Path) -> bool:
    """Whether ``path`` reads as central's file (a top-level ``[central]``); False if unreadable
    or not TOML, so that the device check reports those as it always has."""
    try:
        data = tomllib.loads(read_regular_file(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and SECTION in data


def _secret_problems(settings: BaseModel, lines: Mapping[KeyPath, int]) -> list[ConfigProblem]:
    """The database URL from its variable and the broker password from its file, as this user."""
    found: list[ConfigProblem] = []
    reads = (
        ("database", "url_env", "resolved_url"),
        ("mqtt", "password_file", "secret"),
    )
    for section_name, key, method in reads:
        section = getattr(settings, section_name, None)
        read = getattr(section, method, None)
        if read is None or getattr(section, key, None) is None:
            continue
        try:
            read()
        except (OSError, ValueError) as exc:
            dotted = f"{SECTION}.{section_name}.{key}"
            message = getattr(exc, "strerror", None) or str(exc)
            found.append(ConfigProblem(dotted, find_line(lines, dotted), f"cannot read: {message}"))
    return found


def parse_central(text: str, *, secrets: bool = False) -> BaseModel:
    """Central's settings in TOML ``text``; ConfigError lists every problem with its line."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_problem(exc, text)]) from None
    except RecursionError:
        raise ConfigError([ConfigProblem("", None, "a value is nested too deep")]) from None
    try:
        lines = key_lines(text)
    except TooDeep as exc:
        raise ConfigError([ConfigProblem(".".join(exc.key), exc.line, str(exc))]) from None
    problems = [
        ConfigProblem(
            key, lines.get((key,)), f"unknown section; central's file holds only [{SECTION}]"
        )
        for key in data
        if key != SECTION
    ]
    table = data.get(SECTION)
    if not isinstance(table, dict):
        problems.append(ConfigProblem(SECTION, lines.get((SECTION,)), "must be a table"))
        raise ConfigError(problems)
    try:
        model = model_for(SECTION)
    except SectionUnknown as exc:
        raise ConfigError([*problems, ConfigProblem(SECTION, None, str(exc))]) from None
    settings: BaseModel | None = None
    try:
        settings = model.model_validate(table)
    except ValidationError as exc:
        for relative, message in _relative_problems(exc, model):
            dotted = f"{SECTION}.{relative}" if relative else SECTION
            problems.append(ConfigProblem(dotted, find_line(lines, dotted), message))
    if settings is not None and secrets:
        problems += _secret_problems(settings, lines)
    if problems or settings is None:
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(problems)
    return settings


def load_central(path: Path, *, secrets: bool = False) -> BaseModel:
    """Read and check central's file; ConfigError names each key and line."""
    try:
        text = read_regular_file(path, MAX_CONFIG_BYTES).decode("utf-8")
    except (OSError, ValueError) as exc:
        message = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError([ConfigProblem("", None, f"cannot read: {message}")], path) from None
    try:
        return parse_central(text, secrets=secrets)
    except ConfigError as exc:
        raise ConfigError(exc.problems, path) from None
