"""A malicious ILS floods the kiosk with answers it must ignore: the log and memory stay bounded.

The ILS here is a hostile TCP server of the test's own on loopback. To every
request it sends 50,000 ACS Status answers carrying the wrong sequence number
(each a protocol warning: "a late answer to an earlier request") and then the
right answer. Measured before the fix: 248,058 warning lines in 5 s and a
warnings list that grew by 117 MB.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Iterator

import pytest

from engine.ils.connection import RAW_KEPT, WARNING_LOG_INTERVAL, WARNINGS_KEPT, SipConnection
from engine.ils.url import parse_ils_url
from protocols.sip2 import ACSStatusResponse, SCStatusRequest, encode

FLOOD = 50_000


def status(sequence: int) -> bytes:
    answer = ACSStatusResponse.create(
        online_status=True,
        checkin_ok=True,
        checkout_ok=True,
        acs_renewal_policy=True,
        status_update_ok=True,
        offline_ok=True,
        timeout_period="030",
        retries_allowed="003",
        date_time_sync="20261202    120000",
        institution_id="HOSTILE",
        supported_messages="Y" * 16,
    )
    return encode(answer, "utf-8", True, sequence, b"\r")


@pytest.fixture
def hostile_ils() -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            pending = b""
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                pending += data
                while b"\r" in pending:
                    request, _, pending = pending.partition(b"\r")
                    found = re.search(rb"AY(\d)AZ", request)
                    sequence = int(found.group(1)) if found else 0
                    wrong = status((sequence + 5) % 10)
                    conn.sendall(wrong * FLOOD + status(sequence))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    listener.close()


def test_a_flood_of_wrong_sequence_answers_is_logged_bounded(
    hostile_ils: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="engine.ils.connection")
    now = [1000.0]  # the connection's one clock, moved by hand
    settings = parse_ils_url(f"sip2://127.0.0.1:{hostile_ils}?institution=HOSTILE&timeout=30")
    connection = SipConnection(settings, monotonic=lambda: now[0])

    def lines() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "engine.ils.connection" and r.getMessage().startswith("SIP2:")
        ]

    connection.connect()  # sends SC Status, gets the flood, then its answer
    assert connection.status is not None
    # One line for the whole flood, not 50,000.
    assert len(lines()) == 1 and "late answer" in lines()[0]
    assert connection.warnings_total == FLOOD
    assert len(connection.warnings) == WARNINGS_KEPT
    # The raw bytes kept of the exchange end with the real answer, bounded.
    assert len(connection.last_raw) <= RAW_KEPT
    assert connection.last_raw.endswith(status(0))

    # Within the interval another flood stays silent; after it, a count and one new line.
    connection.request(SCStatusRequest.create(max_print_width="040"))
    assert len(lines()) == 1
    now[0] += WARNING_LOG_INTERVAL
    connection.request(SCStatusRequest.create(max_print_width="040"))
    logged = lines()
    assert logged[1] == f"SIP2: {2 * FLOOD - 1} more warnings from the ILS suppressed"
    assert "late answer" in logged[2] and len(logged) == 3
    # Closing says how many of the last flood went unlogged.
    connection.close()
    assert lines()[3:] == [f"SIP2: {FLOOD - 1} more warnings from the ILS suppressed"]
    assert connection.warnings_total == 3 * FLOOD
    assert len(connection.warnings) == WARNINGS_KEPT
