"""`muontra demo`: everything on simulators, played for a person.

By default the kiosk demo (:mod:`demo.kiosk`): the ILS simulator and the
kiosk engine on simulated devices, a patron session and returns as the screen
would show them; as text, then a drop at the return machine (:mod:`demo.sorter`).
``--sip2`` shows the SIP2 link itself instead: the simulator
and a scripted session (login, patron information, checkout, checkin, renew),
every request and answer next to the bytes on the wire.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime
from typing import TextIO

from engine.ils.raw import RawSipClient
from ilssim.circulation import Circulation
from ilssim.seed import seed
from ilssim.server import SimServerThread
from ilssim.sip2_mapping import SipMapping
from ilssim.store import Store
from protocols.sip2 import (
    CheckinRequest,
    CheckoutRequest,
    EndPatronSessionRequest,
    ItemInformationRequest,
    LoginRequest,
    Message,
    PatronInformationRequest,
    RenewAllRequest,
    RenewRequest,
    SCStatusRequest,
    field_name,
)

INSTITUTION = "MUONTRA"
PATRON, PIN = "P0001", "1234"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Start the ILS simulator and the kiosk engine on simulated devices. On a desktop, "
        "open the touchscreen with its simulator panel; without a display (or with --text), "
        "play a session as text (identify, PIN, a stack, a missing part, the ILS going away, "
        "a QR receipt, offline replay, returns), then a drop at the return machine with sorting "
        "bins. --sorter shows only the return machine; --sip2 the SIP2 link instead."
    )
    parser.add_argument(
        "--sip2", action="store_true", help="show the SIP2 link message by message instead"
    )
    parser.add_argument(
        "--text", action="store_true", help="play the session as text even with a display"
    )
    parser.add_argument(
        "--sorter", action="store_true", help="show only the return machine with sorting bins"
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait between steps, for presenting (default: no wait)",
    )
    parser.add_argument(
        "--raw", action="store_true", help="also print the raw bytes of every message"
    )


def _describe(message: Message) -> list[str]:
    lines = [f"{message.command} {message.name}"]
    flags = ", ".join(f"{k}={v.strip() or '·'}" for k, v in message.fixed.items())
    if flags:
        lines.append(f"    fixed: {flags}")
    for field_id, value in message.fields:
        lines.append(f"    {field_id} {field_name(field_id):<22} {value}")
    return lines


def play(out: TextIO = sys.stdout, pause: float = 0.0, raw: bool = False) -> int:
    """Run the scripted session; returns 0 when every step answered as expected."""
    store = Store.open(":memory:")
    seed(store, 40, 1)
    mapping = SipMapping(Circulation(store), accounts={"kiosk1": "demo"})

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    with SimServerThread(mapping) as sim:
        say(
            f"ILS simulator listening on 127.0.0.1:{sim.port} (seeded catalogue, institution "
            f"{INSTITUTION})"
        )
        say(f"Patron {PATRON} (PIN {PIN}) borrows, returns and renews at a kiosk.\n")
        wire = RawSipClient(sim.port, timeout=10)
        steps: list[tuple[str, Message]] = [
            (
                "The kiosk logs in to the ILS",
                LoginRequest.create(
                    login_user_id="kiosk1", login_password="demo", location_code="TT"
                ),
            ),
            ("…and asks whether the ILS is online", SCStatusRequest.create(max_print_width="040")),
            (
                "The patron scans a card and types a PIN",
                PatronInformationRequest.create(
                    transaction_date=datetime.now(),
                    institution_id=INSTITUTION,
                    patron_id=PATRON,
                    patron_password=PIN,
                    summary=" " * 10,
                ),
            ),
            (
                "A book is laid on the pad: what is it?",
                ItemInformationRequest.create(institution_id=INSTITUTION, item_id="B0001"),
            ),
            (
                "Check it out",
                CheckoutRequest.create(
                    transaction_date=datetime.now(),
                    sc_renewal_policy=True,
                    institution_id=INSTITUTION,
                    patron_id=PATRON,
                    item_id="B0001",
                    patron_password=PIN,
                ),
            ),
            (
                "A book on hold for someone else is refused",
                CheckoutRequest.create(
                    transaction_date=datetime.now(),
                    sc_renewal_policy=True,
                    institution_id=INSTITUTION,
                    patron_id=PATRON,
                    item_id="B0005",
                    patron_password=PIN,
                ),
            ),
            (
                "Renew one loan",
                RenewRequest.create(
                    transaction_date=datetime.now(),
                    institution_id=INSTITUTION,
                    patron_id=PATRON,
                    item_id="B0010",
                    patron_password=PIN,
                ),
            ),
            (
                "Renew everything else",
                RenewAllRequest.create(
                    transaction_date=datetime.now(),
                    institution_id=INSTITUTION,
                    patron_id=PATRON,
                    patron_password=PIN,
                ),
            ),
            (
                "At the return machine: a book someone is waiting for",
                CheckinRequest.create(
                    transaction_date=datetime.now(),
                    current_location="TT",
                    institution_id=INSTITUTION,
                    item_id="B0009",
                ),
            ),
            (
                "…and a book that belongs to another branch",
                CheckinRequest.create(
                    transaction_date=datetime.now(),
                    current_location="TT",
                    institution_id=INSTITUTION,
                    item_id="B0004",
                ),
            ),
            (
                "The patron is done",
                EndPatronSessionRequest.create(
                    transaction_date=datetime.now(),
                    institution_id=INSTITUTION,
                    patron_id=PATRON,
                    patron_password=PIN,
                ),
            ),
        ]
        try:
            for number, (title, request) in enumerate(steps, 1):
                started = time.perf_counter()
                response = wire.ask(request)
                elapsed = (time.perf_counter() - started) * 1000
                say(f"── {number}. {title} ({elapsed:.0f} ms)")
                for line in _describe(request):
                    say("  → " + line)
                for line in _describe(response):
                    say("  ← " + line)
                if raw:
                    say("  wire → " + repr(wire.sent))
                    say("  wire ← " + repr(wire.received))
                say("")
                if pause:
                    time.sleep(pause)
        finally:
            wire.close()
    store.close()
    say(
        "Done: every request was answered. Next: `muontra ils-sim --help`, "
        "`muontra sip2 decode --help`, `muontra sip2 doctor --help`."
    )
    return 0


NO_DISPLAY_HINT = """
There is no display here, so the session was played as text. To see the
touchscreen and its simulator panel, run `make demo` (or `muontra demo`) from a
desktop session, or headless with a virtual screen:
    xvfb-run -s "-screen 0 1080x1920x24" .venv/bin/muontra demo
"""


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _touchscreen_problem() -> str | None:
    """Why the touchscreen cannot start here, in one line; None when it can.

    Asked of `muontra ui --check` in a child: Qt aborts the process that fails to
    load its platform plugin, and the engine layer never imports the UI (DESIGN.md).
    """
    command = [sys.executable, "-m", "muontra", "ui", "--check"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()] or ["no reason given"]
    return lines[-1].removeprefix("muontra ui: ")


def run(args: argparse.Namespace) -> int:
    try:
        if not args.sip2:
            from demo.kiosk import play_kiosk, show_touchscreen
            from demo.sorter import play_sorter

            if args.sorter:
                return play_sorter(sys.stdout, pause=args.pause)
            if args.text or not _has_display():
                code = play_kiosk(sys.stdout, pause=args.pause)
                # The return machine has no screen of its own here yet: it is shown as text.
                code = play_sorter(sys.stdout, pause=args.pause) or code
                if not args.text:
                    print(NO_DISPLAY_HINT)
                return code
            problem = _touchscreen_problem()
            if problem is not None:
                print(f"muontra demo: {problem} — playing the session as text", file=sys.stderr)
                code = play_kiosk(sys.stdout, pause=args.pause)
                return play_sorter(sys.stdout, pause=args.pause) or code
            return show_touchscreen(sys.stdout)
        return play(pause=args.pause, raw=args.raw)
    except (OSError, ConnectionError) as exc:
        print(f"muontra demo: {exc}", file=sys.stderr)
        return 1
