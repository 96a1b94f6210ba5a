"""`muontra journal`: look at the device's journal and decide what happens to a damaged one.

- ``status``: sound, new, or damaged (why, since when, which files were kept aside);
- ``recover``: copy every row SQLite can still read from the damaged file into a
  fresh journal; the kiosk then starts on it, finishing the open transactions and
  replaying the offline ones as after any restart;
- ``accept-new``: start on an empty journal (``--yes`` confirms that whatever the
  damaged one held is to be settled by hand, from the files kept aside).

The damaged files are never deleted. Run these as the engine's user while the
kiosk is out of service; a running kiosk notices the decision and starts again.
Exit status: 0 done, 1 nothing to decide or refused, 2 bad config.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from engine.config import ConfigError, load_config
from engine.journal.integrity import (
    SIDE_FILES,
    Health,
    JournalDamaged,
    JournalState,
    examine,
    read_state,
    write_state,
)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (
        ("status", "say whether the journal is sound, new or damaged"),
        ("recover", "copy what can be read from the damaged journal into a fresh one"),
        ("accept-new", "start on an empty journal (the damaged files are kept)"),
    ):
        child = sub.add_parser(name, help=text, description=text)
        child.add_argument("--config", required=True, type=Path, help="the device's TOML file")
        child.add_argument("--data-dir", type=Path, help="override device.data_dir")
        if name == "recover":
            child.add_argument(
                "--from", dest="source", type=Path, help="the damaged file (default: newest)"
            )
        if name == "accept-new":
            child.add_argument(
                "--yes", action="store_true", help="confirm: the damaged journal is settled by hand"
            )


def _journal_path(args: argparse.Namespace) -> Path | None:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"muontra journal: {args.config} has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    data_dir = args.data_dir or config.device.data_dir
    return Path(data_dir) / "journal.sqlite"


def run(args: argparse.Namespace) -> int:
    journal = _journal_path(args)
    if journal is None:
        return 2
    action = {"status": _status, "recover": _recover, "accept-new": _accept_new}[args.action]
    return action(journal, args)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _status(journal: Path, args: argparse.Namespace) -> int:
    state = read_state(journal)
    if state is not None and state.health is Health.DAMAGED:
        print(f"damaged since {state.since}: {state.reason}")
        print(f"kept aside in {journal.parent}: {', '.join(state.set_aside) or 'nothing'}")
        print("decide with: muontra journal recover | muontra journal accept-new --yes")
        return 1
    problem = examine(journal, existed=state is not None)
    if problem is not None:
        print(f"damaged (the kiosk will set it aside at start): {problem}")
        return 1
    print("sound" if journal.exists() else "new (no journal yet)")
    return 0


def _damaged(journal: Path) -> JournalState | None:
    state = read_state(journal)
    if state is None or state.health is not Health.DAMAGED:
        problem = examine(journal, existed=state is not None)
        if problem is None:
            print("muontra journal: the journal is not damaged; nothing to decide")
            return None
        # Damaged but the kiosk has not started since: set it aside the same way.
        from engine.journal import integrity

        try:
            integrity.guard(journal)
        except JournalDamaged as damaged:
            return damaged.state
        return None
    return state


def _recover(journal: Path, args: argparse.Namespace) -> int:
    from engine.journal.recovery import recover_into
    from engine.journal.store import Journal

    state = _damaged(journal)
    if state is None:
        return 1
    files = [journal.parent / name for name in state.set_aside]
    mains = [f for f in files if not f.name.endswith(SIDE_FILES)]
    source = args.source or (mains[0] if mains else None)
    if source is None or not source.exists():
        print(
            "muontra journal: no damaged file is left to recover from "
            "(it was missing or empty); use accept-new --yes",
            file=sys.stderr,
        )
        return 1
    if journal.exists():
        print(f"muontra journal: {journal} exists; not overwritten", file=sys.stderr)
        return 1
    fresh = journal.with_name(f"{journal.name}.recovering-{_stamp()}")
    Journal.open(fresh).close()
    result = recover_into(source, fresh)
    if result.unreadable is not None:
        fresh.unlink()
        print(f"muontra journal: {result.unreadable}; nothing recovered", file=sys.stderr)
        print("use accept-new --yes and settle the loans by hand from the ILS", file=sys.stderr)
        return 1
    for suffix in ("-wal", "-shm"):
        fresh.with_name(fresh.name + suffix).unlink(missing_ok=True)
    fresh.rename(journal)
    for suffix in (".state",):
        fresh.with_name(fresh.name + suffix).unlink(missing_ok=True)
    write_state(journal, JournalState(Health.OK, _stamp(), f"recovered from {source.name}"))
    print(f"recovered from {source.name} into {journal}:")
    for table, count in result.rows.items():
        print(f"  {table}: {count} rows")
    if result.lost_tables:
        print(f"  unreadable tables: {', '.join(result.lost_tables)}")
    print(
        "  transactions by state: "
        + (", ".join(f"{k} {v}" for k, v in sorted(result.states.items())) or "none")
    )
    waiting = result.states.get("offline_done", 0)
    print(f"  offline transactions waiting for the ILS: {waiting}")
    print("rows on lost pages cannot be recovered: compare the ILS with the items on hand")
    print(f"the damaged files stay in {journal.parent}: {', '.join(state.set_aside)}")
    return 0


def _accept_new(journal: Path, args: argparse.Namespace) -> int:
    state = _damaged(journal)
    if state is None:
        return 1
    if not args.yes:
        print(
            "muontra journal: accept-new starts on an empty journal; offline loans and open "
            "steps in the damaged one will not reach the ILS by themselves. Add --yes to "
            "confirm (the damaged files are kept).",
            file=sys.stderr,
        )
        return 1
    if journal.exists():
        print(f"muontra journal: {journal} exists; not overwritten", file=sys.stderr)
        return 1
    write_state(journal, JournalState(Health.NEW, _stamp(), "accepted new after damage"))
    print(f"a new journal will be started; kept: {', '.join(state.set_aside) or 'nothing'}")
    return 0
