"""SIP2 codec throughput: our decode and encode beside PyPI pysip2, same bytes, same run.

The mix is every SIP2 2.00 message type from the exact-byte fixtures (Vietnamese
UTF-8 titles and names, repeated item lists) that pysip2 also accepts: it
refuses blank "nb due date" fields and 3-digit limits, which real ILSs send, so
those three messages are left out of both sides to keep the comparison fair.

Prints messages per second (best of several repeats) and the ratios.
Goal: our decode at least 3x pysip2's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pysip2

from protocols.sip2 import decode, encode
from tests.unit.protocols.sip2_codec.fixtures import EVERY_MESSAGE

REPEATS = 7
ROUNDS = 200


def accepted_by_both() -> list[bytes]:
    mix = []
    for raw in EVERY_MESSAGE.values():
        try:
            pysip2.decode_message(raw, encoding="utf-8")
        except pysip2.SIP2Error:
            continue
        mix.append(raw)
    return mix


def rates(ours: Callable[[], None], theirs: Callable[[], None], count: int) -> tuple[float, float]:
    """Best of REPEATS timings each, interleaved so that machine noise hits both sides."""
    best_ours = best_theirs = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        ours()
        best_ours = min(best_ours, time.perf_counter() - started)
        started = time.perf_counter()
        theirs()
        best_theirs = min(best_theirs, time.perf_counter() - started)
    return count / best_ours, count / best_theirs


def main() -> None:
    mix = accepted_by_both()
    n = len(mix) * ROUNDS
    ours_messages = [decode(raw) for raw in mix]
    theirs_messages = [pysip2.decode_message(raw, encoding="utf-8") for raw in mix]

    def our_decode() -> None:
        for _ in range(ROUNDS):
            for raw in mix:
                decode(raw)

    def their_decode() -> None:
        for _ in range(ROUNDS):
            for raw in mix:
                pysip2.decode_message(raw, encoding="utf-8")

    def our_encode() -> None:
        for _ in range(ROUNDS):
            for message in ours_messages:
                encode(message)

    def their_encode() -> None:
        for _ in range(ROUNDS):
            for decoded in theirs_messages:
                pysip2.encode_message(
                    decoded.message,
                    sequence_number=decoded.sequence_number,
                    checksum=True,
                    encoding="utf-8",
                )

    ours_d, theirs_d = rates(our_decode, their_decode, n)
    ours_e, theirs_e = rates(our_encode, their_encode, n)
    print(f"mix: {len(mix)} message types of {len(EVERY_MESSAGE)}, {n} messages per pass")
    print(
        f"encode: ours {ours_e:,.0f} msg/s, pysip2 {theirs_e:,.0f} msg/s, "
        f"ratio {ours_e / theirs_e:.2f}"
    )
    print(
        f"decode: ours {ours_d:,.0f} msg/s, pysip2 {theirs_d:,.0f} msg/s, "
        f"ratio {ours_d / theirs_d:.2f}"
    )


if __name__ == "__main__":
    main()
