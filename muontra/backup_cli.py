"""`muontra backup`: a device's data (engine/backup/) or, with --central, central's
database (central/backup.py) into one dated archive. Here only because the two
halves live in layers that may not import each other; docs/backup.md."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        required=True,
        help="the device's TOML (with --central: central's)",
    )
    parser.add_argument("--central", action="store_true", help="back up central's database")
    parser.add_argument("--out", type=Path, help="folder for the archive (/var/backups/muontra)")
    parser.add_argument(
        "--encrypt-to",
        metavar="RECIPIENT",
        help="encrypt with age to this public key (age1…) or file of keys; keys and "
        "passwords are only ever archived encrypted",
    )
    parser.add_argument("--keep", type=int, help="then keep only the newest N archives")
    parser.add_argument("--data-dir", type=Path, help="override device.data_dir")


def run(args: argparse.Namespace) -> int:
    if args.keep is not None and args.keep < 1:
        raise SystemExit("muontra backup: --keep must be 1 or more")
    if args.central:
        from central.backup import cli_backup

        return cli_backup(args)
    from engine.backup.cli import backup

    return backup(args)
