"""A loopback SMTP sink: where a scenario's e-mail receipts arrive, to be read by the checks.

A paper receipt with Vietnamese text is printed as a picture, so its words
cannot be read back from the printer's bytes; the e-mail receipt carries the
same lines as text. The engine sends it with its own SMTP client to this sink
on 127.0.0.1 (a random port), which keeps each message whole. It speaks only
the plain SMTP a client needs to hand over a message (no TLS, no login) and
bounds what it keeps.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from io import BufferedIOBase

MAX_LINE = 64 * 1024
MAX_MESSAGE = 4 * 1024 * 1024
MAX_MESSAGES = 50


class Mailbox:
    """Accepts mail on ``port`` until closed; ``messages`` holds what arrived, in order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        mailbox = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                mailbox._session(self.rfile, self.wfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="scenario-smtp", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def texts(self) -> list[str]:
        """The text parts of every message, decoded (plain and HTML)."""
        with self._lock:
            messages = list(self.messages)
        found = []
        for message in messages:
            for part in message.walk():
                if part.get_content_maintype() == "text":
                    found.append(str(part.get_content()))
        return found

    def _session(self, rfile: BufferedIOBase, wfile: BufferedIOBase) -> None:
        read = rfile.readline
        write = wfile.write
        write(b"220 scenario mailbox\r\n")
        while True:
            line = read(MAX_LINE)
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                write(b"250-scenario\r\n250 8BITMIME\r\n")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                write(b"250 ok\r\n")
            elif verb == b"DATA":
                write(b"354 end with a dot\r\n")
                data = self._data(read)
                if data is None:
                    write(b"552 too large\r\n")
                    return
                with self._lock:
                    if len(self.messages) < MAX_MESSAGES:
                        parsed = message_from_bytes(data, policy=policy.default)
                        assert isinstance(parsed, EmailMessage)
                        self.messages.append(parsed)
                write(b"250 kept\r\n")
            elif verb == b"QUIT":
                write(b"221 bye\r\n")
                return
            else:
                write(b"502 not here\r\n")

    @staticmethod
    def _data(read: Callable[[int], bytes]) -> bytes | None:
        """The message up to the lone dot, dot-unstuffed; None when it grows past the bound."""
        lines: list[bytes] = []
        size = 0
        while True:
            line = read(MAX_LINE)
            if not line or line in (b".\r\n", b".\n"):
                return b"".join(lines)
            if line.startswith(b"."):
                line = line[1:]
            if line.endswith(b"\r\n"):
                line = line[:-2] + b"\n"  # the wire's line ends, not the text's
            size += len(line)
            if size > MAX_MESSAGE:
                return None
            lines.append(line)
