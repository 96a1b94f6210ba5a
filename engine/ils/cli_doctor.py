"""`muontra sip2 doctor URL`: check a real ILS and report its SIP2 dialect for a person.

Each step is printed as it starts and ends, with its time and the ILS's own
words (AF). What the ILS sent is also studied as bytes: terminators, text
encoding, Unicode normal form, date format, checksums and sequence numbers,
and the fields each answer carried. From that the doctor recommends a profile
and the URL parameters to use.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from engine.ils.client import IlsClient
from engine.ils.connection import SipConnection
from engine.ils.errors import IlsError
from engine.ils.url import IlsSettings, parse_ils_url
from protocols.sip2 import (
    SENSITIVE_FIELDS,
    ACSStatusResponse,
    Message,
    SIP2Error,
    decode,
)
from protocols.sip2.dates import looks_like_iso_date
from protocols.sip2.profiles import PROFILES

HELP = "check a real ILS: what works, its SIP2 dialect, the profile to use"

SUPPORTED_NAMES = (
    "patron status",
    "checkout",
    "checkin",
    "block patron",
    "SC/ACS status",
    "request resend",
    "login",
    "patron information",
    "end patron session",
    "fee paid",
    "item information",
    "item status update",
    "patron enable",
    "hold",
    "renew",
    "renew all",
)


ASK_PIN = object()
"""``--pin`` given without a value: the PIN is asked for, never taken from the command line."""


def ask_pin(stdin: TextIO | None = None) -> str:
    """The test patron's PIN from the person at the terminal, or one line piped in."""
    stream = stdin or sys.stdin
    if stream.isatty():
        return getpass.getpass("Test patron's PIN (not shown): ")
    return stream.readline().rstrip("\r\n")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url", help="the ILS, e.g. sip2://user:pass@host:6001?institution=MAIN&profile=koha"
    )
    parser.add_argument("--patron", help="a test patron's barcode")
    parser.add_argument(
        "--pin",
        nargs="?",
        const=ASK_PIN,
        help="the test patron's PIN: --pin alone asks for it (not echoed; one line from "
        "standard input when it is not a terminal), so that it stays out of `ps` and the "
        "shell's history; --pin PIN still works",
    )
    parser.add_argument(
        "--item",
        help="a test item's barcode; with --patron the doctor CHECKS IT OUT AND IN AGAIN",
    )
    parser.add_argument("--json", action="store_true", help="a machine-readable report")


@dataclass
class Step:
    name: str
    ok: bool
    ms: float
    detail: str = ""
    messages: tuple[str, ...] = ()


@dataclass
class Observations:
    """What the ILS's bytes reveal about its dialect."""

    responses: int = 0
    checksums: dict[str, int] = field(default_factory=lambda: {"ok": 0, "bad": 0, "absent": 0})
    sequence_echoed: int = 0
    non_ascii: int = 0
    utf8_valid: bool = True
    nfd_text: bool = False
    date_formats: set[str] = field(default_factory=set)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def study(self, raw: bytes, request_sequence: int | None, encoding: str) -> None:
        for line in raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r"):
            if not line:
                continue
            self.responses += 1
            if any(b > 0x7F for b in line):
                self.non_ascii += 1
                try:
                    text = line.decode("utf-8")
                    if unicodedata.normalize("NFC", text) != text:
                        self.nfd_text = True
                except UnicodeDecodeError:
                    self.utf8_valid = False
            try:
                message = decode(line, encoding)
            except SIP2Error:
                continue
            key = {True: "ok", False: "bad", None: "absent"}[message.checksum_ok]
            self.checksums[key] += 1
            if message.sequence is not None and message.sequence == request_sequence:
                self.sequence_echoed += 1
            for spec in type(message).FIXED:
                if spec.is_date:
                    self.date_formats.add(_date_kind(message.fixed.get(spec.name, "")))
            ids = self.fields.setdefault(message.command, [])
            ids.extend(fid for fid, _ in message.fields if fid not in ids)

    def recommendation(self, settings: IlsSettings, terminators: set[bytes]) -> dict[str, str]:
        params: dict[str, str] = {}
        # NFD titles are Evergreen's signature; otherwise keep the profile asked for.
        params["profile"] = "evergreen" if self.nfd_text else settings.profile.name
        if not self.utf8_valid:
            params["encoding"] = (
                "cp850" if settings.profile.encoding == "utf-8" else (settings.profile.encoding)
            )
        names = {b"\r": "cr", b"\n": "lf", b"\r\n": "crlf"}
        if len(terminators) == 1:
            (seen,) = terminators
            if seen != PROFILES[params["profile"]].terminator:
                params["terminator"] = names[seen]
        if self.checksums["absent"] and not self.checksums["ok"]:
            params["error_detection"] = "0"
        if self.checksums["bad"]:
            params["verify_checksum"] = "0"
        return params


def _date_kind(raw: str) -> str:
    if not raw.strip():
        return "blank"
    if looks_like_iso_date(raw, 0):
        return "YYYY-MM-DD HH:MM:SS"
    if len(raw) == 18 and raw[:8].isdigit() and raw[12:].isdigit():
        return "YYYYMMDDZZZZHHMMSS" + (" (zone given)" if raw[8:12].strip() else "")
    return f"unusual {raw!r}"


def _shown(message: Message) -> tuple[str, ...]:
    return message.screen_messages


class Doctor:
    def __init__(self, settings: IlsSettings, out: Callable[[str], None]) -> None:
        self.settings = settings
        self.out = out
        self.steps: list[Step] = []
        self.seen = Observations()
        # The doctor accepts wrong checksums so it can go on and report them: a
        # kiosk would stop at the first one unless told to (verify_checksum=0).
        lenient = replace(settings, profile=settings.profile.with_overrides(verify_checksum=False))
        self.connection = SipConnection(lenient)
        self.client = IlsClient(settings, connection_factory=lambda s: self.connection)

    def step(self, name: str, action: Callable[[], tuple[bool, str, Message | None]]) -> bool:
        self.out(f"… {name}")
        started = time.perf_counter()
        try:
            ok, detail, answer = action()
        except (IlsError, SIP2Error, OSError) as exc:
            ok, detail, answer = False, str(exc), None
        ms = (time.perf_counter() - started) * 1000
        messages = _shown(answer) if answer is not None else ()
        if answer is not None:
            sequence = self.connection.link._next_sequence
            self.seen.study(
                self.connection.last_raw, (sequence - 1) % 10, self.settings.profile.encoding
            )
        self.steps.append(Step(name, ok, ms, detail, messages))
        mark = "✓" if ok else "✗"
        self.out(f"{mark} {name} ({ms:.0f} ms){': ' + detail if detail else ''}")
        for text in messages:
            self.out(f"    ILS says: {text}")
        return ok

    def run(self, patron: str | None, pin: str | None, item: str | None) -> bool:
        def connect() -> tuple[bool, str, Message | None]:
            self.connection.connect()
            kind = "TLS" if self.settings.tls else "TCP"
            login = f", logged in as {self.settings.user}" if self.settings.user else ""
            return True, f"{kind}{login}", None

        if not self.step("connect and log in", connect):
            return False

        def status() -> tuple[bool, str, Message | None]:
            answer: ACSStatusResponse = self.client.sc_status()
            supported = answer.supported_messages or ""
            missing = [n for n, f in zip(SUPPORTED_NAMES, supported, strict=False) if f != "Y"]
            detail = (
                f"online={answer.online_status}, checkout={answer.checkout_ok}, "
                f"checkin={answer.checkin_ok}, renewal policy={answer.acs_renewal_policy}, "
                f"timeout={answer.timeout_period}, protocol {answer.protocol_version}"
                + (f"; not supported: {', '.join(missing)}" if missing else "")
            )
            return bool(answer.online_status), detail, answer

        usable = self.step("SC status", status)
        if patron:

            def patron_status() -> tuple[bool, str, Message | None]:
                answer = self.client.patron_status(patron, pin)
                return (
                    bool(answer.valid_patron) and answer.valid_patron_password is not False,
                    (f"valid patron={answer.valid_patron}, PIN ok={answer.valid_patron_password}"),
                    answer,
                )

            def patron_info() -> tuple[bool, str, Message | None]:
                answer = self.client.patron_information(patron, pin)
                return (
                    bool(answer.valid_patron),
                    (
                        f"{answer.charged_items_count} on loan, {answer.hold_items_count} holds, "
                        f"{answer.overdue_items_count} overdue, fees {answer.fee_amount or 0}"
                    ),
                    answer,
                )

            usable &= self.step("patron status", patron_status)
            usable &= self.step("patron information", patron_info)
        if item:

            def item_info() -> tuple[bool, str, Message | None]:
                answer = self.client.item_information(item)
                return (
                    bool(answer.title),
                    (f"{answer.title!r}, circulation status {answer.circulation_status}"),
                    answer,
                )

            usable &= self.step("item information", item_info)
        if item and patron:
            self.out(f"! a real checkout and checkin of item {item} follow")

            def checkout() -> tuple[bool, str, Message | None]:
                answer = self.client.checkout(patron, item, pin)
                return answer.ok, f"ok={answer.ok}, due {answer.due_date!r}", answer

            def checkin() -> tuple[bool, str, Message | None]:
                answer = self.client.checkin(item)
                return (
                    answer.ok,
                    (f"ok={answer.ok}, alert={answer.alert}, sort bin {answer.sort_bin!r}"),
                    answer,
                )

            usable &= self.step("checkout", checkout)
            usable &= self.step("checkin", checkin)
        self.client.close()
        return usable

    def report(self, usable: bool) -> dict[str, Any]:
        terminators = self.connection.link.framer.terminators_seen
        names = {b"\r": "CR", b"\n": "LF", b"\r\n": "CRLF"}
        params = self.seen.recommendation(self.settings, terminators)
        return {
            "ils": self.settings.display(),
            "usable_for_kiosk": usable,
            "steps": [
                {
                    "name": s.name,
                    "ok": s.ok,
                    "ms": round(s.ms, 1),
                    "detail": s.detail,
                    "screen_messages": list(s.messages),
                }
                for s in self.steps
            ],
            "dialect": {
                "terminators": sorted(names[t] for t in terminators),
                "checksums": self.seen.checksums,
                "sequence_echoed": f"{self.seen.sequence_echoed}/{self.seen.responses}",
                "non_ascii_messages": self.seen.non_ascii,
                "utf8_valid": self.seen.utf8_valid,
                "nfd_text": self.seen.nfd_text,
                "date_formats": sorted(self.seen.date_formats),
                "fields": {cmd: ids for cmd, ids in sorted(self.seen.fields.items())},
                "warnings": self.connection.warnings,
            },
            "recommended": {
                "profile": params["profile"],
                "url_parameters": "&".join(f"{k}={v}" for k, v in params.items()),
            },
        }


def _mask(report: dict[str, Any]) -> dict[str, Any]:
    """Field lists name ids only; nothing else holds patron data but AF, kept as said."""
    report["dialect"]["fields"] = {
        cmd: [fid + (" (patron data)" if fid in SENSITIVE_FIELDS else "") for fid in ids]
        for cmd, ids in report["dialect"]["fields"].items()
    }
    return report


def run(args: argparse.Namespace) -> int:
    try:
        settings = parse_ils_url(args.url)
    except ValueError as exc:
        print(f"muontra sip2 doctor: {exc}", file=sys.stderr)
        return 2

    def say(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    pin = ask_pin() if args.pin is ASK_PIN else args.pin
    say(f"Checking {settings.display()}")
    doctor = Doctor(settings, say)
    usable = doctor.run(args.patron, pin, args.item)
    report = _mask(doctor.report(usable))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        dialect = report["dialect"]
        say("")
        say("Dialect observed:")
        say(f"  terminators      {', '.join(dialect['terminators']) or 'none seen'}")
        say(f"  checksums        {dialect['checksums']}")
        say(f"  sequence echoed  {dialect['sequence_echoed']}")
        say(
            f"  text             {dialect['non_ascii_messages']} answers with non-ASCII bytes; "
            f"UTF-8 valid: {dialect['utf8_valid']}; NFD: {dialect['nfd_text']}"
        )
        say(f"  date formats     {', '.join(dialect['date_formats'])}")
        for command, ids in dialect["fields"].items():
            say(f"  fields in {command}     {' '.join(ids)}")
        if dialect["checksums"]["bad"]:
            say(
                f"  WARNING          {dialect['checksums']['bad']} answers carried a wrong "
                "checksum; a kiosk needs verify_checksum=0 for this ILS"
            )
        for warning in dialect["warnings"]:
            say(f"  warning          {warning}")
        recommended = report["recommended"]
        say("")
        say(
            f"Recommended profile: {recommended['profile']} "
            f"(URL parameters: {recommended['url_parameters']})"
        )
        say(
            "The ILS is usable for a kiosk." if usable else "The ILS is NOT usable for a kiosk yet."
        )
    return 0 if usable else 1
