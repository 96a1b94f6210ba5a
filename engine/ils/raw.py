"""A bare SIP2 connection: one socket, the sans-IO client, no login or reconnection.

For tools that must show or control every message themselves (the demo, tests
of the simulator); kiosks use :class:`engine.ils.client.IlsClient` instead.
"""

from __future__ import annotations

import socket
import ssl

from protocols.sip2 import Message
from protocols.sip2.client import ClientConnection, ResponseReceived, SendData
from protocols.sip2.profiles import GENERIC, Profile


class RawSipClient:
    """Send one request at a time and return its answer; the last bytes each way are kept."""

    def __init__(
        self,
        port: int,
        profile: Profile = GENERIC,
        context: ssl.SSLContext | None = None,
        timeout: float = 5.0,
        host: str = "127.0.0.1",
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        self.sock = context.wrap_socket(sock, server_hostname="localhost") if context else sock
        self.link = ClientConnection(profile)
        self.sent = b""
        self.received = b""

    def ask(self, request: Message) -> Message:
        self.sent = self.link.send(request)
        self.sock.sendall(self.sent)
        self.received = b""
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the ILS closed the connection")
            self.received += data
            for event in self.link.receive_data(data):
                if isinstance(event, SendData):
                    self.sock.sendall(event.data)
                elif isinstance(event, ResponseReceived):
                    return event.response

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawSipClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
