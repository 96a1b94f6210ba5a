"""Real parts for central's tests: a PostgreSQL server from Debian's package, fresh
databases on it and on SQLite, and a mosquitto (TLS, passwords) that keeps sessions
across a restart.

The PostgreSQL server is started once per test session in a temporary directory on a
random loopback port. initdb refuses to run as root, so as root it runs as the
``postgres`` user the Debian package creates. Each test gets its own database on it.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from central.db import make_engine, migrate
from tests.conftest import TlsFiles
from tests.integration.test_mqtt_link import MOSQUITTO, Broker

__all__ = ["CentralBroker", "PgServer", "fresh_pg", "start_pg"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@dataclass
class PgServer:
    folder: Path
    port: int
    pg_ctl: str
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                self.pg_ctl,
                "-D",
                str(self.folder / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )


def start_pg() -> PgServer | None:
    """A PostgreSQL server in a new temporary directory on a free port (None: not installed).
    Also used by bench/fleet.py."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="muontra-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        # The server's files belong to the postgres user, which runs initdb and the server.
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run(
        [
            *as_user,
            initdb,
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} "
        "-c fsync=off -c max_connections=60"
    )
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return PgServer(folder, port, pg_ctl, as_user)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_pg()
    if server is None:
        pytest.skip("PostgreSQL is not installed (scripts/apt-packages.txt: postgresql)")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


_numbers = itertools.count()


def fresh_pg(server: PgServer) -> str:
    name = f"t{os.getpid()}_{next(_numbers)}"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in a temp file, or one on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return fresh_pg(server)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database migrated to the head revision."""
    made = make_engine(db_url)
    migrate(made)
    try:
        yield made
    finally:
        made.dispose()


class CentralBroker(Broker):
    """The device tests' mosquitto (TLS, passwords), with persistence on: sessions and
    their queued messages survive a restart, as on a production broker."""

    def start(self) -> None:
        if not self.passwords.exists():
            self.set_users(self.users)
        user = f"user {os.environ.get('USER') or 'root'}\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"{user}"
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 100000\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "per_listener_settings false\n"
            "allow_anonymous false\n"
            f"password_file {self.passwords}\n"
            f"listener {self.port} 127.0.0.1\n"
            f"certfile {self.tls.cert}\n"
            f"keyfile {self.tls.key}\n"
        )
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not listen: {self.log()}") from None
                time.sleep(0.02)


USERS = {"central": "central-secret", "device": "device-secret"}


@pytest.fixture
def central_broker(tmp_path: Path, tls_files: TlsFiles) -> Iterator[CentralBroker]:
    if not os.path.exists(MOSQUITTO) or shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto is not installed (scripts/apt-packages.txt)")
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = CentralBroker(folder, tls_files, users=dict(USERS))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
