"""`muontra central --config FILE acl --out FILE [--dynsec FILE]`: the broker's ACL from the fleet.

The device list is ``[central.broker] devices`` and every device in central's
database (central/broker_acl.py says what each login gets). Files are replaced
whole (written beside, then renamed), so mosquitto never reads half of one; the
dynamic-security file holds password hashes and is written for its owner only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from central.broker_acl import accounts, acl_file, devices_from_store, dynsec_config, fleet
from central.settings import CentralSettings

__all__ = ["acl_arguments", "acl_command"]


def acl_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="write a mosquitto acl_file here")
    parser.add_argument(
        "--dynsec",
        type=Path,
        help="write (or update, keeping passwords) a dynamic-security plugin JSON file here",
    )


def _replace(path: Path, data: bytes, mode: int) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def acl_command(settings: CentralSettings, engine: Engine, args: argparse.Namespace) -> int:
    if args.out is None and args.dynsec is None:
        sys.stderr.write("muontra central acl: give --out FILE, --dynsec FILE or both\n")
        return 2
    if not settings.mqtt.username:
        sys.stderr.write("muontra central acl: central.mqtt.username is not set\n")
        return 2
    from central.broker_log import LOG_TOPIC
    from central.db import sessions

    try:
        with sessions(engine)() as session:
            seen = devices_from_store(session)
    except SQLAlchemyError as error:
        sys.stderr.write(
            f"muontra central acl: cannot read the device list ({type(error).__name__}); "
            "run `muontra central migrate` first\n"
        )
        return 2
    ha = settings.homeassistant
    try:
        devices = fleet(settings.broker.devices, seen)
        logins = accounts(
            devices,
            prefix=settings.mqtt.prefix,
            central_user=settings.mqtt.username,
            staff_users=settings.broker.staff_users,
            homeassistant=(settings.broker.homeassistant_user, ha.discovery_prefix)
            if ha.enabled
            else None,
            # Refused logins are read from mosquitto's own log (central/broker_log.py).
            broker_log=LOG_TOPIC if settings.alerts.broker_refusals > 0 else None,
        )
    except ValueError as error:
        sys.stderr.write(f"muontra central acl: {error}\n")
        return 2
    if args.out is not None:
        _replace(args.out, acl_file(logins).encode("utf-8"), 0o644)
    if args.dynsec is not None:
        existing = None
        if args.dynsec.exists():
            try:
                existing = json.loads(args.dynsec.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                sys.stderr.write(f"muontra central acl: cannot read {args.dynsec}: {error}\n")
                return 2
        document = dynsec_config(logins, existing if isinstance(existing, dict) else None)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        _replace(args.dynsec, text.encode("utf-8"), 0o600)
    sys.stderr.write(
        f"muontra central acl: {len(devices)} device(s), {len(logins)} login(s) written\n"
    )
    return 0
