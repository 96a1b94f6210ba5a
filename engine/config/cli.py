"""`muontra config`: check device configuration files and show what they amount to.

``check`` reports like a compiler (``FILE:LINE: key: message``) so editors and
CI jobs can jump to the line, and it reports every problem at once: an
installer on a ladder next to a gate should not have to run it five times.
``show`` prints the effective configuration, defaults included, because the
file alone does not tell what a kiosk will actually do.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from engine.config.central_check import is_central, load_central
from engine.config.model import ConfigError, ConfigProblem, DeviceConfig, load_config, mask_url

CHECK_EPILOG = """\
Every problem is printed as FILE:LINE: KEY: MESSAGE, for example

  /etc/muontra/kiosk.toml:14: patron.pin_attempts: Input should be less than or equal to 10, got 30
  /etc/muontra/kiosk.toml:3: devises: unknown section; did you mean 'devices'?

A file with a [central] table is `muontra central`'s and is checked against its keys
(central.mqtt.port, central.alerts.offline_after_s …) the same way.

A file without problems prints "FILE: OK (role …, device …)". The exit status
is 0 when every file is OK and 1 otherwise, so the check can guard a deployment:

  muontra config check /etc/muontra/kiosk.toml && systemctl restart muontra-kiosk

Passwords are not read, nor device nodes (/dev/ttyUSB0 …) looked up, unless
--secrets is given; run that as the daemon's user with its environment,
otherwise the answer says nothing about the service:

  sudo systemd-run --pipe --wait -p User=muontra \\
       -p EnvironmentFile=/etc/muontra/kiosk.env \\
       /opt/muontra/.venv/bin/muontra config check --secrets /etc/muontra/kiosk.toml

See docs/configuration.md for every key.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Check and show device configuration files (TOML): one file per kiosk, "
        "return station or gate."
    )
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION")
    check = sub.add_parser(
        "check",
        help="validate files; print FILE:LINE: key: message per problem",
        description="Validate device configuration files and name the key and line of "
        "every problem.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE", help="TOML files")
    check.add_argument(
        "--json", action="store_true", help="print one JSON document instead of lines"
    )
    check.add_argument(
        "--secrets",
        action="store_true",
        help="also read every password (password_env / password_file) and look up every "
        "serial or evdev device node, as this user",
    )
    check.add_argument(
        "--skip-devices",
        action="store_true",
        help="with --secrets, leave the device nodes out: what the units run at start, "
        "where a reader unplugged at boot is the daemon's to report, not a reason not to start",
    )
    show = sub.add_parser(
        "show",
        help="print the effective configuration: defaults filled in, secrets masked",
        description="Print the effective configuration of a file as TOML, with every "
        "default filled in and passwords in URLs masked.",
    )
    show.add_argument("file", type=Path, metavar="FILE", help="TOML file")
    parser.set_defaults(_config_parser=parser)


def run(args: argparse.Namespace) -> int:
    if args.config_command == "check":
        devices = args.secrets and not args.skip_devices
        return _check(args.files, as_json=args.json, secrets=args.secrets, devices=devices)
    if args.config_command == "show":
        return _show(args.file)
    args._config_parser.print_help()
    return 2


# -- check ------------------------------------------------------------------------


def format_problem(path: Path, problem: ConfigProblem) -> str:
    """``FILE:LINE: key: message``, leaving out the parts that are not known."""
    where = f"{path}:{problem.line}" if problem.line is not None else f"{path}"
    key = f" {problem.key}:" if problem.key else ""
    return f"{where}:{key} {problem.message}"


def _check(paths: list[Path], *, as_json: bool, secrets: bool, devices: bool = False) -> int:
    reports: list[dict[str, Any]] = []
    failed = False
    for path in paths:
        try:
            if is_central(path):
                load_central(path, secrets=secrets)
                reports.append(
                    {
                        "file": str(path),
                        "ok": True,
                        "role": "central",
                        "device": None,
                        "problems": [],
                    }
                )
                if not as_json:
                    print(f"{path}: OK (central)")
                continue
            config = load_config(path, secrets=secrets, devices=devices)
        except ConfigError as exc:
            failed = True
            reports.append(
                {
                    "file": str(path),
                    "ok": False,
                    "problems": [
                        {"key": p.key, "line": p.line, "message": p.message} for p in exc.problems
                    ],
                }
            )
            if not as_json:
                for problem in exc.problems:
                    print(format_problem(path, problem))
            continue
        reports.append(
            {
                "file": str(path),
                "ok": True,
                "role": config.device.role,
                "device": config.device.id,
                "problems": [],
            }
        )
        if not as_json:
            print(f"{path}: OK (role {config.device.role}, device {config.device.id})")
    if as_json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
    return 1 if failed else 0


# -- show -------------------------------------------------------------------------

# A value that is one whole URL (a device or the ILS), not text that mentions one.
_URL = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.-]*://\S*")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(mask_url(value) if _URL.fullmatch(value) else value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _table(name: str, data: dict[str, Any], lines: list[str]) -> None:
    lines.append(f"[{name}]")
    nested: list[tuple[str, dict[str, Any] | None]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            nested.append((key, value))
        elif value is None and key in _NESTED_SECTIONS.get(name, ()):
            nested.append((key, None))
        elif value is None:
            lines.append(f"# {key} = (not set)")
        else:
            lines.append(f"{key} = {_value(value)}")
    for key, value in nested:
        lines.append("")
        if value is None:
            lines.append(f"# [{name}.{key}] not set")
        else:
            _table(f"{name}.{key}", value, lines)


# Sub-sections that may be absent (None): shown as "not set" rather than as a key.
_NESTED_SECTIONS = {"receipts": ("smtp",)}


def effective_toml(config: DeviceConfig, source: str = "") -> str:
    """The configuration as TOML with every default written out and URL secrets masked."""
    lines = [f"# Effective configuration{f' of {source}' if source else ''}:"]
    lines.append("# defaults filled in, passwords in URLs masked.")
    for name, data in config.model_dump(mode="json").items():
        lines.append("")
        if data is None:
            lines.append(f"# [{name}] not set")
        else:
            _table(name, data, lines)
    return "\n".join(lines) + "\n"


def _show(path: Path) -> int:
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(format_problem(path, problem))
        return 1
    print(effective_toml(config, str(path)), end="")
    return 0
