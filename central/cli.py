"""`muontra central --config FILE [ACTION]`: the fleet's centre.

``run`` (the default) stores the fleet's stream until SIGTERM; start several
with distinct ``mqtt.client_id`` and one ``mqtt.group`` to share the stream.
``migrate`` brings the database to the current schema (on PostgreSQL, once,
before the processes start; SQLite is migrated by ``run`` itself).
``export`` writes a site's statistics for a day or a month as CSV.
``purge`` applies the retention once (``run`` does it every ``retention.every_s``).
``add-staff`` and ``add-token`` manage staff accounts and API tokens (central/cli_staff.py).
``acl`` writes the broker's ACL from the device list (central/cli_acl.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType

from central.settings import CentralSettings, SettingsError, load_settings

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    parser.add_argument(
        "--config", type=Path, required=True, help="central's TOML file (config/central.toml)"
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("run", help="store the fleet's stream until stopped (the default)")
    sub.add_parser("migrate", help="bring the database to the current schema")
    sub.add_parser("purge", help="apply the retention once")
    export = sub.add_parser("export", help="a site's statistics as CSV (UTF-8 with BOM)")
    export.add_argument("--site", required=True, help="the site id, e.g. VN-HN0001")
    when = export.add_mutually_exclusive_group(required=True)
    when.add_argument("--day", type=date.fromisoformat, help="a local day, YYYY-MM-DD")
    when.add_argument("--month", help="a local month, YYYY-MM")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    from central.cli_staff import add_staff_arguments, add_token_arguments

    add_staff_arguments(sub.add_parser("add-staff", help="add a staff member: viewer, desk, admin"))
    add_token_arguments(sub.add_parser("add-token", help="issue or revoke an API client's token"))
    from central.cli_acl import acl_arguments

    acl_arguments(sub.add_parser("acl", help="write the broker's ACL from the device list"))


def _fail(message: str) -> int:
    sys.stderr.write(f"muontra central: {message}\n")
    return 2


def run(args: argparse.Namespace) -> int:
    if (args.action or "run") == "run":
        from protocols.allocator import tune_allocator

        tune_allocator()  # first, before any of the service's threads allocates
    try:
        settings = load_settings(args.config)
        url = settings.database.resolved_url()
    except SettingsError as error:
        return _fail(str(error))
    action = args.action or "run"
    if action in ("add-staff", "add-token"):
        from central.cli_staff import add_staff_command, add_token_command

        args.database = args.database or url
        return (add_staff_command if action == "add-staff" else add_token_command)(args)
    from central.db import make_engine

    engine = make_engine(url)
    try:
        if action == "migrate":
            from central.db import current_revision, migrate

            migrate(engine)
            sys.stderr.write(f"muontra central: database at {sorted(current_revision(engine))}\n")
            return 0
        if action == "export":
            return _export(settings, engine, args)
        if action == "purge":
            _purge(settings, engine)
            return 0
        if action == "acl":
            from central.cli_acl import acl_command

            return acl_command(settings, engine, args)
        return _serve(settings, engine)
    finally:
        engine.dispose()


def _export(settings: CentralSettings, engine: object, args: argparse.Namespace) -> int:
    from sqlalchemy import Engine

    from central.db import sessions
    from central.export import day_csv, month_csv

    assert isinstance(engine, Engine)
    with sessions(engine)() as session:
        if args.day is not None:
            data = day_csv(session, args.site, args.day, settings.zone)
        else:
            try:
                year, month = (int(part) for part in args.month.split("-"))
                date(year, month, 1)
            except ValueError:
                return _fail(f"--month {args.month!r} is not YYYY-MM")
            data = month_csv(session, args.site, year, month, settings.zone)
    if args.out is None:
        sys.stdout.buffer.write(data)
    else:
        args.out.write_bytes(data)
    return 0


def _purge(settings: CentralSettings, engine: object) -> None:
    from sqlalchemy import Engine

    from central.db import sessions
    from central.retention import purge

    assert isinstance(engine, Engine)
    with sessions(engine)() as session, session.begin():
        done = purge(session, settings.retention, datetime.now(UTC))
    log.info("central: purged %d events and %d hourly counters", done.events, done.stats)


def _serve(settings: CentralSettings, engine: object) -> int:
    from sqlalchemy import Engine

    from central.db import current_revision, head_revisions, migrate
    from central.service import CentralService

    assert isinstance(engine, Engine)
    if engine.dialect.name == "sqlite":
        migrate(engine)
    elif current_revision(engine) != head_revisions():
        return _fail("the database is not at the current schema: run `muontra central migrate`")
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # The ingest and the staff side (alerts, commands, the API, Home Assistant) on one client.
    service = CentralService(settings, engine)
    ingest = service.ingest
    service.start()
    log.info("central: %s storing the fleet's stream", settings.mqtt.client_id)
    try:
        while True:
            try:
                _purge(settings, engine)
            except Exception:  # the next round tries again; ingest goes on meanwhile
                log.exception("central: retention failed")
            if stop.wait(settings.retention.every_s):
                break
    finally:
        service.stop()
        counters = ingest.counters
        log.info(
            "central: stopped; stored %d, duplicates %d, dropped %d",
            counters.stored,
            counters.duplicates,
            counters.rejected,
        )
    return 0
