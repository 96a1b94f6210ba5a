"""The return machine against Evergreen's standalone SIPServer (issue 13), when its source is
at hand: a sorter on the simulated belt whose [ils] url is SIPServer with its bundled test ILS
(completed by scripts/interop/evergreen-test-ils-compat.pm), over a relay that keeps every byte.

Evergreen answers a checkin without a sort bin (CL): the site's local rules carry the sort.
Run only where SIPSERVER_SRC points to a checkout (see docs/interop-evergreen.md); the
checkin exchange captured here is tested everywhere in
tests/unit/protocols/test_evergreen_transcripts.py and tests/unit/sorter/.
With SIPSERVER_CAPTURE=DIR the exchange is written there as a transcript pair.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.conveyor import Fate, SimConveyor
from drivers.sim.reader import item_tag
from engine.config import parse_config
from engine.ils.client import IlsClient
from engine.ils.url import parse_ils_url
from kiosk.api import ApiClient
from protocols.sip2 import CheckinRequest, CheckinResponse, decode
from sorter.api import SorterApiServer
from sorter.service import build_sorter
from tests.integration.sorter_rig import Rig
from tests.integration.test_evergreen_sipserver import (
    ITEMS,
    LOGIN_PASSWORD_ENV,
    PATRON,
    PIN,
    ils_url,
    needs_sipserver,
    running_sipserver,
)
from tests.integration.test_sorter_api import next_event

RULE_BIN = "2"
CONFIG = """
[device]
id = "sorter-evergreen"
site = "VN-HN0001"
role = "sorter"
data_dir = "{data_dir}"
api_socket = "{data_dir}/s.sock"

[ils]
url = "{url}"
password_env = "{password_env}"

[devices]
conveyor = "conveyor+sim://{name}?clock=real&rate=1.0&speed=0.5&reader=0.6&zone=0.3&diverters=1.6,2.4&end=4.0"
tunnel = "sim://{name}?timing=0.05"

[sorter]
exception_bin = "x"
default_bin = "1"
late_ils = "hold_belt"
belt_speed = 0.5
reader_position = 0.6
# Evergreen sends no CL: the media type (CK) carries the sort. The test ILS's items are all
# books (001) without a location (AQ empty).
rules = ["CK=001 → 2"]

[[sorter.bins]]
id = "1"
name_vi = "Kho chung"
name_en = "Stacks"
capacity = 50
output = "diverter1"
full_sensor = "full1"
position = 1.6

[[sorter.bins]]
id = "2"
name_vi = "Sách in"
name_en = "Printed books"
capacity = 50
output = "diverter2"
full_sensor = "full2"
position = 2.4

[[sorter.bins]]
id = "x"
name_vi = "Ngoại lệ"
name_en = "Exceptions"
capacity = 50
"""


class RecordingRelay:
    """A TCP relay between the sorter and SIPServer keeping each direction's bytes, and when
    each message (up to its CR) had passed, so the exchange is captured as it went."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent: list[tuple[float, bytes]] = []
        """Requests, client to server."""
        self.answered: list[tuple[float, bytes]] = []
        """Answers, server to client."""
        self._sockets: list[socket.socket] = [self.listener]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> RecordingRelay:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=10)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            upstream.settimeout(None)
            self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, self.sent)
            self._spawn(self._pump, upstream, client, self.answered)

    def _pump(self, source: socket.socket, sink: socket.socket, kept: list[Any]) -> None:
        pending = b""
        while True:
            try:
                data = source.recv(65536)
                now = time.monotonic()  # as it reached the relay, before it is passed on
                if not data:
                    break
                sink.sendall(data)
            except OSError:
                break
            pending += data
            with self._lock:
                while b"\r" in pending:
                    message, pending = pending.split(b"\r", 1)
                    kept.append((now, message.lstrip(b"\n") + b"\r"))
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def exchanges(self, code: bytes) -> list[tuple[float, bytes, bytes]]:
        """(seconds from request to answer, request, answer) of each request ``code``..."""
        answer_code = b"%02d" % (int(code) + 1)
        with self._lock:
            requests = [(t, m) for t, m in self.sent if m.startswith(code)]
            answers = [(t, m) for t, m in self.answered if m.startswith(answer_code)]
        return [(ta - tr, r, a) for (tr, r), (ta, a) in zip(requests, answers, strict=False)]


@contextmanager
def evergreen_sorter(tmp_path: Path, port: int) -> Iterator[tuple[Rig, ApiClient]]:
    """The sorter of CONFIG on a simulated belt, its ILS at ``port``, and a wall screen's
    client on its local API."""
    name = f"evergreen{time.monotonic_ns()}"
    url = ils_url(port, password_in_url=False)
    text = CONFIG.format(data_dir=tmp_path, url=url, password_env=LOGIN_PASSWORD_ENV, name=name)
    config = parse_config(text)
    with ExitStack() as stack:
        sorter = build_sorter(config, stack, maintenance_every=3600)
        conveyor = sorter.conveyor
        assert isinstance(conveyor, SimConveyor)
        events = sorter.bus.subscribe()
        api = SorterApiServer(tmp_path / "api.sock", sorter)
        api.serve_in_thread()
        stack.callback(api.close)
        sorter.start()
        stack.callback(sorter.stop)
        screen = ApiClient(tmp_path / "api.sock", timeout=10)
        stack.callback(screen.close)
        screen.subscribe()
        # The rig's ILS simulator is not there: this rig's ILS is SIPServer.
        yield Rig(sorter, conveyor.machine, None, events, tmp_path), screen


CAPTURED = ("09-sorter-checkin", "10-sorter-checkin-not-on-loan")
"""The transcript names of the two checkins, in tests/fixtures/sip2/evergreen-sipserver/."""


def capture(folder: Path, exchanges: list[tuple[float, bytes, bytes]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (_, request, answer) in zip(CAPTURED, exchanges, strict=True):
        (folder / f"{name}.request.sip2").write_bytes(request)
        (folder / f"{name}.response.sip2").write_bytes(answer)


@pytest.mark.interop
@needs_sipserver
def test_the_return_machine_sorts_evergreen_checkins_by_its_local_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(LOGIN_PASSWORD_ENV, "clientpwd")  # as a site keeps it: not in the file
    lent, not_lent = "1565921879", "0440242746"
    with running_sipserver() as server:
        # A patron borrowed one of the two items at the desk; the other is on the shelf.
        with IlsClient(parse_ils_url(ils_url(server.port))) as desk:
            assert desk.checkout(PATRON, lent, PIN).ok
        with (
            RecordingRelay(server.port) as wire,
            evergreen_sorter(tmp_path / "sorter", wire.port) as (rig, screen),
        ):
            items = rig.feed([item_tag(lent), item_tag(not_lent)])
            seen = [next_event(screen, "item"), next_event(screen, "item")]
            rig.settle(items)
            rig.wait_until(lambda: rig.sorter.status()["on_belt"] == 0)
            journal = [(t.item_id, t.kind, t.state) for t in rig.sorter.journal.all()]
            sorted_event = rig.wait_event("item_sorted", item_id=lent)
            published = [e for kind in rig.log.values() for e in kind]
            published += [rig.events.get_nowait() for _ in range(rig.events.qsize())]
    assert not server.errors(), server.stderr

    # On the wire: one checkin per item, never a second; no CL in either answer.
    checkins = wire.exchanges(b"09")
    requests = [decode(r) for _, r, _ in checkins]
    assert all(isinstance(r, CheckinRequest) for r in requests)
    assert [getattr(r, "item_id", None) for r in requests] == [lent, not_lent]
    answers = [decode(a) for _, _, a in checkins]
    assert all(isinstance(a, CheckinResponse) for a in answers)
    returned, refused = answers
    assert isinstance(returned, CheckinResponse) and isinstance(refused, CheckinResponse)
    assert returned.ok and returned.sort_bin is None and returned.media_type == "001"
    assert not refused.ok and refused.sort_bin is None
    assert all("CL" not in dict(a.fields) for a in answers)

    # The journal: each checkin done once, as the ILS answered it.
    assert journal == [(lent, "checkin", "done"), (not_lent, "checkin", "refused")]

    # On the belt: the local rule's bin for the returned book, the exception bin for the other.
    assert [(i.fate, i.bin) for i in items] == [(Fate.IN_BIN, 2), (Fate.IN_EXCEPTION_BIN, 0)]

    # The wall screen: what it said of each item, in both languages, no patron anywhere.
    by_item = {e["item_id"]: e for e in seen}
    assert by_item[lent]["outcome"] == "sorted" and by_item[lent]["bin"] == RULE_BIN
    assert by_item[lent]["title"] == ITEMS[lent]
    assert by_item[lent]["text"] == {"vi": "Đã nhận — cảm ơn.", "en": "Returned — thank you."}
    assert (sorted_event["bin"], sorted_event["reason"]) == (RULE_BIN, "local_rule")
    assert by_item[not_lent]["outcome"] == "exception" and by_item[not_lent]["bin"] == "x"
    assert by_item[not_lent]["reason"] == "ils_refused"
    assert by_item[not_lent]["text"] == {
        "vi": "Hệ thống không nhận trả tài liệu này; thủ thư sẽ kiểm tra.",
        "en": "The library system did not accept this return; staff will check it.",
    }
    assert PATRON not in json.dumps(screen.events + published, ensure_ascii=False, default=str)
    assert caplog.records and PATRON not in caplog.text  # nor in the logs, the desk's included

    # The figures, for docs/interop-evergreen.md: seconds from request to answer at the relay.
    for (seconds, _, _), item_id in zip(checkins, (lent, not_lent), strict=True):
        print(f"checkin {item_id}: {seconds * 1000:.1f} ms")
    if os.environ.get("SIPSERVER_CAPTURE"):
        capture(Path(os.environ["SIPSERVER_CAPTURE"]), checkins)
