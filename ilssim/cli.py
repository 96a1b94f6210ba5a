"""`muontra ils-sim`: run the SIP2 ILS simulator."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys
from pathlib import Path

from sqlalchemy import func, select

from engine.sdnotify import notify, watchdog_interval
from ilssim.circulation import Circulation
from ilssim.config import ConfigError, IlsSimConfig, load_config
from ilssim.csv_import import CsvImportError, import_items, import_patrons
from ilssim.models import Item
from ilssim.server import SimServer
from ilssim.sip2_mapping import SipMapping
from ilssim.store import Store


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "A SIP2 ILS for demos, tests and installer training: a SQLite catalogue with "
        "real circulation rules (limits, holds, fines, transit, offline replay) and "
        "fault switches that make it behave like a troubled real ILS."
    )
    parser.add_argument("--config", type=Path, help="TOML file with an [ils_sim] table")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="SIP2 port (default 6001; 0 picks a free one)")
    parser.add_argument("--db", dest="database", help="SQLite file (default: in memory)")
    parser.add_argument(
        "--seed",
        dest="seed_items",
        type=int,
        metavar="N",
        help="generate a catalogue of N items when the database is empty (default 200)",
    )
    parser.add_argument("--rng-seed", type=int, help="random seed of the generated catalogue")
    parser.add_argument("--import-patrons", type=Path, metavar="CSV", help="import patrons")
    parser.add_argument("--import-items", type=Path, metavar="CSV", help="import items")
    parser.add_argument(
        "--login",
        action="append",
        metavar="USER:PASSWORD",
        help="require SIP2 login with this account (repeatable; default: no login needed)",
    )
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate: serve over TLS")
    parser.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    parser.add_argument(
        "--control-port",
        type=int,
        help="loopback port taking 'set NAME VALUE', 'show' and 'drop' lines at run time",
    )
    parser.add_argument(
        "--fault",
        action="append",
        metavar="NAME=VALUE",
        help="set a fault switch at start, e.g. latency=0.5, drop_after=3, terminator=crlf",
    )
    parser.add_argument(
        "--screen-language",
        choices=["patron", "vi", "en", "both"],
        help="language of screen messages (AF); default: the patron's own",
    )


def _settings(args: argparse.Namespace) -> IlsSimConfig:
    config = load_config(args.config) if args.config else IlsSimConfig()
    overrides = {
        key: getattr(args, key)
        for key in (
            "host",
            "port",
            "database",
            "seed_items",
            "rng_seed",
            "tls_cert",
            "tls_key",
            "control_port",
            "screen_language",
        )
        if getattr(args, key) is not None
    }
    if args.login:
        accounts = dict(config.accounts)
        for entry in args.login:
            user, sep, password = entry.partition(":")
            if not sep or not user:
                raise ConfigError(f"--login needs USER:PASSWORD, got {entry!r}")
            accounts[user] = password
        overrides["accounts"] = accounts
    config = config.model_copy(update=overrides)
    return IlsSimConfig.model_validate(config.model_dump())


def _open_store(config: IlsSimConfig, args: argparse.Namespace) -> Store:
    from ilssim.seed import seed

    store = Store.open(config.database)
    with store.read() as session:
        empty = not session.scalar(select(func.count()).select_from(Item))
    if empty:
        summary = seed(store, config.seed_items, config.rng_seed)
        print(
            f"ils-sim: seeded {summary.items} items and {summary.patrons} patrons "
            f"({summary.loans} loans, {summary.holds} holds)",
            file=sys.stderr,
        )
    if args.import_patrons:
        result = import_patrons(store, args.import_patrons)
        print(f"ils-sim: imported {result.created} patrons from {result.source}", file=sys.stderr)
    if args.import_items:
        result = import_items(store, args.import_items)
        print(f"ils-sim: imported {result.created} items from {result.source}", file=sys.stderr)
    return store


def _ssl_context(config: IlsSimConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


def run(args: argparse.Namespace) -> int:
    try:
        config = _settings(args)
        for entry in args.fault or ():
            name, sep, value = entry.partition("=")
            if not sep:
                raise ConfigError(f"--fault needs NAME=VALUE, got {entry!r}")
            config.faults = config.faults.model_validate(
                {**config.faults.model_dump(), name.strip(): value.strip()}
            )
        store = _open_store(config, args)
        context = _ssl_context(config)
    except (ConfigError, CsvImportError, ValueError, OSError, ssl.SSLError) as exc:
        print(f"muontra ils-sim: {exc}", file=sys.stderr)
        return 2
    mapping = SipMapping(
        Circulation(store),
        institution=config.institution,
        accounts=config.accounts,
        screen_language=config.screen_language,
        location=config.location,
    )
    return asyncio.run(_serve(mapping, config, context))


async def _serve(mapping: SipMapping, config: IlsSimConfig, context: ssl.SSLContext | None) -> int:
    from ilssim.faults import Faults

    faults = Faults(**config.faults.model_dump())
    server = SimServer(
        mapping,
        host=config.host,
        port=config.port,
        ssl_context=context,
        faults=faults,
        control_port=config.control_port,
    )
    try:
        await server.start()
    except OSError as exc:
        print(
            f"muontra ils-sim: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr
        )
        return 1
    scheme = "sip2" + ("" if context is None else "s")
    print(
        f"ils-sim: listening on {config.host}:{server.port} ({scheme}, "
        f"institution {config.institution})",
        flush=True,
    )
    if server.control_port:
        print(f"ils-sim: control port 127.0.0.1:{server.control_port}", flush=True)
    print(
        "ils-sim: demo patron P0001 PIN 1234, items B0001-B0020; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    notify("READY=1")
    interval = watchdog_interval()
    while not stop.is_set():
        # The watchdog is fed from the event loop itself: a wedged loop stops feeding it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if interval is not None:
            notify("WATCHDOG=1")
    notify("STOPPING=1")
    await server.close()
    print("ils-sim: stopped", file=sys.stderr)
    return 0
