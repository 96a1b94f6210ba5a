"""The device half of `muontra backup` and `muontra restore` (muontra/backup_cli.py and
muontra/restore_cli.py parse the command line and pick this or central's half).

Exit status: 0 done, 1 refused or failed (the reason on stderr in Vietnamese and
English), 2 a config with problems.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from engine.backup.age import AgeMissing
from engine.backup.device import backup_device
from engine.backup.restore import RestoreRefused, restore_device
from engine.config import ConfigError, DeviceConfig, load_config
from protocols.backup.archive import ArchiveError

DEFAULT_OUT = Path("/var/backups/muontra")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def load_device(command: str, args: argparse.Namespace) -> DeviceConfig | None:
    """The config with --data-dir applied. Secrets and device nodes are not read: a
    backup copies the secret files as files, and a restore may run on a machine
    whose secrets are not in place yet."""
    try:
        config = load_config(args.config, secrets=False, devices=False)
    except ConfigError as error:
        _say(f"muontra {command}: {args.config} has problems:")
        for problem in error.problems:
            _say(f"  {problem}")
        return None
    if args.data_dir:
        config.device.data_dir = args.data_dir
    return config


def backup(args: argparse.Namespace) -> int:
    config = load_device("backup", args)
    if config is None:
        return 2
    try:
        result = backup_device(
            config,
            args.config,
            args.out or DEFAULT_OUT,
            datetime.now(UTC),
            encrypt_to=args.encrypt_to,
            keep=args.keep,
            progress=_say,
        )
    except (OSError, RuntimeError, ValueError) as error:
        _say(f"muontra backup: {error}")
        return 1
    print(result.path)
    return 0


def restore(args: argparse.Namespace, migrations: Mapping[str, Path]) -> int:
    config = load_device("restore", args)
    if config is None:
        return 2
    if not args.archive.is_file():
        _say(f"muontra restore: {args.archive}: no such file")
        return 1
    try:
        restored = restore_device(
            args.archive,
            config,
            datetime.now(UTC),
            migrations=migrations,
            identity=args.identity,
            force=args.force,
            config_out=args.config_out,
            progress=_say,
        )
    except (ArchiveError, RestoreRefused) as refused:
        _say(f"muontra restore: refused: {refused.en}")
        _say(f"muontra restore: từ chối: {refused.vi}")
        return 1
    except (AgeMissing, OSError) as error:
        _say(f"muontra restore: {error}")
        return 1
    if restored.set_aside is not None:
        _say(f"the data that was there is kept in {restored.set_aside}")
    for path in restored.config_files:
        _say(f"from the archive: {path} (compare with the one in use; not applied)")
    _say(f"restored into {restored.data_dir}; start the service (systemctl start muontra-…)")
    return 0
