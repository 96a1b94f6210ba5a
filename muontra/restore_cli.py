"""`muontra restore ARCHIVE`: a device's backup onto its data directory, or with
--central central's database; docs/backup.md. Here, not in the engine, because it
names the migrations of every role's store, which only the dispatcher may import."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", type=Path, help="the .tar (or .tar.age) to restore")
    parser.add_argument(
        "--config",
        type=Path,
        required=True,
        help="the device's TOML (with --central: central's)",
    )
    parser.add_argument("--central", action="store_true", help="restore central's database")
    parser.add_argument("--identity", type=Path, help="age key file of an encrypted archive")
    parser.add_argument(
        "--force",
        action="store_true",
        help="restore although data is there or a service answers (the old data is kept aside)",
    )
    parser.add_argument("--data-dir", type=Path, help="override device.data_dir")
    parser.add_argument(
        "--config-out",
        type=Path,
        help="also write the archived config and secret files into this folder",
    )


def migrations() -> dict[str, Path]:
    """Each store's file name under data_dir and its alembic migrations."""
    from engine.journal.store import MIGRATIONS as JOURNAL
    from engine.mqtt.outbox import MIGRATIONS as OUTBOX
    from gates.store import MIGRATIONS as GATE
    from sorter.store import MIGRATIONS as SORTER

    return {
        "journal.sqlite": JOURNAL,
        "outbox.sqlite": OUTBOX,
        "gate.sqlite": GATE,
        "sorter.sqlite": SORTER,
    }


def run(args: argparse.Namespace) -> int:
    if args.central:
        from central.backup import cli_restore

        return cli_restore(args)
    from engine.backup.cli import restore

    return restore(args, migrations())
