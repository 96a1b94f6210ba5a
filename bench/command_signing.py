"""Signed commands: what signing costs central and checking costs a device.

A device checks each command once (decode, HMAC-SHA256 over the canonical bytes,
constant-time compare); central signs each one. Prints operations per second,
best of several repeats, for a short command and for a staff message of 500
characters of Vietnamese text. Commands come a few a minute: this only shows the
check is nothing beside the disk write that claims the id.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocols.mqtt.payloads import Command, Envelope, decode_command, encode, epoch_of
from protocols.mqtt.signing import check_signature, sign

KEY = b"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
SENT = "2026-11-25T08:30:00.250Z"
REPEATS = 5
ROUNDS = 5000


def best(action: Callable[[], object]) -> float:
    """Operations per second, best of REPEATS runs of ROUNDS."""
    fastest = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for _ in range(ROUNDS):
            action()
        fastest = min(fastest, time.perf_counter() - started)
    return ROUNDS / fastest


def main() -> None:
    now = epoch_of(SENT)
    envelope = Envelope("0123456789abcdef0123456789abcdef", SENT, "kiosk-01", "VN-HN0001")
    for label, command in (
        ("lock", Command(envelope, "lock")),
        ("message 500 chars", Command(envelope, "message", {"text": "Thư viện đóng cửa " * 27})),
    ):
        wire = encode(sign(command, KEY, now + 300))
        signing = best(lambda c=command: encode(sign(c, KEY, now + 300)))
        checking = best(lambda w=wire: check_signature(decode_command(w), KEY, now))
        print(f"{label:>18}: sign+encode {signing:9.0f}/s   decode+check {checking:9.0f}/s")


if __name__ == "__main__":
    main()
