"""The ILS simulator's SIP2 server: asyncio on the wire, circulation in a worker thread.

Each connection gets its own sans-IO :class:`ServerConnection`; requests are
handed to a handler (the SIP2-to-circulation mapping) in a thread so that many
kiosks can be served at once while SQLite does the locking. Fault switches are
read on every request, so they take effect at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from ilssim.faults import Faults
from protocols.sip2 import Message, SIP2Error
from protocols.sip2.profiles import GENERIC
from protocols.sip2.server import BadRequest, Reply, RequestReceived, ServerConnection

log = logging.getLogger(__name__)

GARBAGE = b"\x00\xff\xfe#garbage%\x13"


@dataclass(slots=True)
class Session:
    """What the handler knows about the connection a request came on."""

    peer: str
    user: str | None = None

    @property
    def logged_in(self) -> bool:
        return self.user is not None


Handler = Callable[[Message, Session], Message | None]


class CloseConnection(Exception):
    """Raised by a handler to end the connection without an answer (e.g. no login)."""


class SimServer:
    """A SIP2 server on ``host:port`` (port 0 picks a free one), optionally TLS."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        faults: Faults | None = None,
        control_port: int | None = None,
    ) -> None:
        self.handler = handler
        self.host = host
        self.requested_port = port
        self.ssl_context = ssl_context
        self.faults = faults or Faults()
        self.control_port_requested = control_port
        self.port = 0
        self.control_port = 0
        self.connections = 0
        self._servers: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        server = await asyncio.start_server(
            self._serve_client, self.host, self.requested_port, ssl=self.ssl_context
        )
        self.port = server.sockets[0].getsockname()[1]
        self._servers.append(server)
        if self.control_port_requested is not None:
            control = await asyncio.start_server(
                self._serve_control, "127.0.0.1", self.control_port_requested
            )
            self.control_port = control.sockets[0].getsockname()[1]
            self._servers.append(control)
        log.info(
            "ILS simulator listening on %s:%d%s",
            self.host,
            self.port,
            " (TLS)" if self.ssl_context else "",
        )

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()

    def drop_all_connections(self) -> None:
        """Close every client connection now (a crash of the ILS, a network blip)."""
        for writer in list(self._writers):
            writer.close()

    # --- SIP2 connections ---------------------------------------------------------

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = f"{host}:{port}"
        self.connections += 1
        if self.faults.down:
            log.info("fault 'down': closing connection from %s", peer)
            writer.close()
            return
        self._writers.add(writer)
        session = Session(peer)
        link = ServerConnection(GENERIC)
        served = 0
        try:
            while True:
                idle = self.faults.idle_close or None
                try:
                    data = await asyncio.wait_for(reader.read(65536), idle)
                except TimeoutError:
                    log.info("closing connection from %s, idle for %.1f s", peer, idle or 0)
                    break
                if not data:
                    break
                link.profile = replace(
                    link.profile,
                    encoding=self.faults.encoding,
                    terminator=self.faults.terminator_bytes,
                )
                for event in link.receive_data(data):
                    if isinstance(event, Reply):
                        writer.write(event.data)
                    elif isinstance(event, BadRequest):
                        log.warning("bad request from %s: %s", peer, event.reason)
                    elif isinstance(event, RequestReceived):
                        served += 1
                        if not await self._answer(event.request, session, link, writer, served):
                            return
                await writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            log.info("connection from %s ended: %s", peer, exc)
        except asyncio.CancelledError:
            # Shutting down. Ending normally matters on Python 3.11, whose stream
            # callback logs an error for a connection task that ends cancelled.
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(
        self,
        request: Message,
        session: Session,
        link: ServerConnection,
        writer: asyncio.StreamWriter,
        served: int,
    ) -> bool:
        """Answer one request; False when a fault closed the connection."""
        faults = self.faults
        if faults.latency:
            await asyncio.sleep(faults.latency)
        try:
            response = await asyncio.to_thread(self.handler, request, session)
        except CloseConnection as exc:
            log.warning("closing connection from %s: %s", session.peer, exc)
            writer.close()
            return False
        except Exception:
            # A simulator bug must not take the whole server down: log it, drop the link.
            log.exception("handler failed on %s from %s", request.name, session.peer)
            writer.close()
            return False
        if response is None:
            return True
        try:
            data = link.respond(response)
        except SIP2Error as exc:
            # Catalogue text the wire cannot carry (a control character in a title):
            # refused by the encoder rather than sent as a second message or field.
            log.error("cannot send %s to %s: %s", response.name, session.peer, exc)
            writer.close()
            return False
        if faults.drop_after and served % faults.drop_after == 0:
            if faults.drop_mid_message:
                writer.write(data[: len(data) // 2])
                await writer.drain()
            log.info("fault 'drop_after': dropping connection from %s", session.peer)
            writer.close()
            return False
        if faults.garbage_every and served % faults.garbage_every == 0:
            writer.write(GARBAGE + faults.terminator_bytes)
        if faults.bad_checksum_every and served % faults.bad_checksum_every == 0:
            data = _corrupt_checksum(data, faults.terminator_bytes)
        writer.write(data)
        return True

    # --- control port ---------------------------------------------------------------

    async def _serve_control(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Line commands: ``set NAME VALUE``, ``show``, ``drop`` (close all SIP2 connections)."""
        try:
            while line := await reader.readline():
                words = line.decode("utf-8", "replace").split()
                reply: object
                try:
                    if words[:1] == ["set"] and len(words) == 3:
                        self.faults.set(words[1], words[2])
                        reply = {"ok": True, "faults": self.faults.describe()}
                    elif words == ["show"]:
                        reply = {
                            "ok": True,
                            "faults": self.faults.describe(),
                            "connections": self.connections,
                        }
                    elif words == ["drop"]:
                        self.drop_all_connections()
                        reply = {"ok": True}
                    else:
                        reply = {"ok": False, "error": "commands: set NAME VALUE | show | drop"}
                except (ValueError, LookupError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()


def _corrupt_checksum(data: bytes, terminator: bytes) -> bytes:
    body = data[: -len(terminator)]
    if len(body) >= 6 and body[-6:-4] == b"AZ":
        digits = body[-4:]
        wrong = b"0000" if digits != b"0000" else b"FFFF"
        return body[:-4] + wrong + terminator
    return data


class SimServerThread:
    """Runs a :class:`SimServer` on its own event loop in a background thread.

    For tests, the demo and ``sip2 doctor`` checks: ``with SimServerThread(h) as sim:``
    gives a listening server whose ``port`` is known, stopped on exit.
    """

    def __init__(self, handler: Handler, **options: object) -> None:
        self.server = SimServer(handler, **options)  # type: ignore[arg-type]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="ils-sim", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def faults(self) -> Faults:
        return self.server.faults

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.close())
        # Connection tasks still waiting on a read are cancelled, not abandoned.
        pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def start(self) -> SimServerThread:
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error
        return self

    def drop_all_connections(self) -> None:
        self._loop.call_soon_threadsafe(self.server.drop_all_connections)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> SimServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
