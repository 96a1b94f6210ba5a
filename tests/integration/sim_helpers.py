"""A seeded ILS simulator in a thread and a bare SIP2 socket client, for integration tests."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from kiosk.ils.sim.circulation import Circulation
from kiosk.ils.sim.seed import seed
from kiosk.ils.sim.server import SimServerThread
from kiosk.ils.sim.sip2_mapping import SipMapping
from kiosk.ils.sim.store import Store
from protocols.sip2 import Message
from protocols.sip2.client import ClientConnection, ResponseReceived, SendData
from protocols.sip2.profiles import GENERIC, Profile

FIXED_NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


@contextmanager
def running_sim(
    path: str = ":memory:", accounts: dict[str, str] | None = None, **options: object
) -> Iterator[SimServerThread]:
    store = Store.open(path)
    seed(store, 20, 7, now=FIXED_NOW)
    mapping = SipMapping(Circulation(store), accounts=accounts)
    try:
        with SimServerThread(mapping, **options) as sim:
            yield sim
    finally:
        store.close()


class RawClient:
    """One SIP2 connection driven by the sans-IO client, with a socket timeout."""

    def __init__(
        self,
        port: int,
        profile: Profile = GENERIC,
        context: ssl.SSLContext | None = None,
        timeout: float = 5.0,
    ) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = context.wrap_socket(sock, server_hostname="localhost") if context else sock
        self.link = ClientConnection(profile)

    def ask(self, request: Message) -> Message:
        self.sock.sendall(self.link.send(request))
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the ILS closed the connection")
            for event in self.link.receive_data(data):
                if isinstance(event, SendData):
                    self.sock.sendall(event.data)
                elif isinstance(event, ResponseReceived):
                    return event.response

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
