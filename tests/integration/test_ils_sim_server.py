"""The ILS simulator over real TCP and TLS: login, circulation, concurrency and faults."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from protocols.sip2 import (
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    SCStatusRequest,
    decode,
    encode,
)
from protocols.sip2.profiles import GENERIC
from tests.integration.sim_helpers import RawClient, running_sim

LOGIN = LoginRequest.create(login_user_id="kiosk", login_password="secret")


def checkout(patron: str, item: str) -> CheckoutRequest:
    return CheckoutRequest.create(patron_id=patron, item_id=item, institution_id="MUONTRA")


def test_login_then_circulation_with_vietnamese_titles() -> None:
    with running_sim(accounts={"kiosk": "secret"}) as sim, RawClient(sim.port) as client:
        login = client.ask(LOGIN)
        assert isinstance(login, LoginResponse) and login.ok
        info = client.ask(
            PatronInformationRequest.create(
                patron_id="P0001", patron_password="1234", institution_id="MUONTRA"
            )
        )
        assert isinstance(info, PatronInformationResponse)
        assert info.valid_patron and info.valid_patron_password
        assert info.personal_name == "Nguyễn Thị Hương"
        assert set(info.charged_items) == {"B0010", "B0013"}
        out = client.ask(checkout("P0001", "B0001"))
        assert isinstance(out, CheckoutResponse) and out.ok
        assert out.title == "Truyện Kiều" and out.due_date
        back = client.ask(
            CheckinRequest.create(item_id="B0009", current_location="TT", institution_id="MUONTRA")
        )
        assert isinstance(back, CheckinResponse) and back.ok and back.alert
        assert back.alert_type == "01" and back.sort_bin == "4"


def test_wrong_login_is_refused_and_requests_before_login_close_the_link() -> None:
    with running_sim(accounts={"kiosk": "secret"}) as sim, RawClient(sim.port) as client:
        bad = client.ask(LoginRequest.create(login_user_id="kiosk", login_password="nope"))
        assert isinstance(bad, LoginResponse) and not bad.ok
        with pytest.raises(ConnectionError):
            client.ask(checkout("P0001", "B0001"))


def test_concurrent_checkouts_of_one_item_make_one_loan(tmp_path: Path) -> None:
    with running_sim(str(tmp_path / "ils.sqlite")) as sim:
        results: list[bool] = []
        barrier = threading.Barrier(8)

        def borrow(patron: str) -> None:
            with RawClient(sim.port, timeout=30) as client:
                barrier.wait()
                response = client.ask(checkout(patron, "B0002"))
                assert isinstance(response, CheckoutResponse)
                results.append(response.ok)

        threads = [
            threading.Thread(target=borrow, args=(p,))
            for p in ["P0001", "P0005"] + [f"P000{i}" for i in (1, 5)] * 3
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # P0001 and P0005 both try; only the first checkout lends, a repeat by the same
        # patron is a renewal (also ok) and the other patron is refused.
        assert len(results) == 8
        with RawClient(sim.port) as client:
            info = client.ask(
                PatronInformationRequest.create(patron_id="P0001", institution_id="MUONTRA")
            )
            other = client.ask(
                PatronInformationRequest.create(patron_id="P0005", institution_id="MUONTRA")
            )
        assert isinstance(info, PatronInformationResponse)
        assert isinstance(other, PatronInformationResponse)
        holders = [p for p in (info, other) if "B0002" in p.charged_items]
        assert len(holders) == 1


def test_tls(tls_files: object) -> None:
    from tests.conftest import TlsFiles

    assert isinstance(tls_files, TlsFiles)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tls_files.cert, tls_files.key)
    client_context = ssl.create_default_context(cafile=str(tls_files.cert))
    with running_sim(ssl_context=server_context) as sim:
        with RawClient(sim.port, context=client_context) as client:
            status = client.ask(SCStatusRequest.create())
            assert status.command == "98"
        with pytest.raises(ssl.SSLError):
            RawClient(sim.port, context=ssl.create_default_context())


def test_faults_drop_garbage_checksum_terminator_and_encoding() -> None:
    with running_sim() as sim:
        sim.faults.set("drop_after", "2")
        with RawClient(sim.port) as client:
            client.ask(SCStatusRequest.create())
            with pytest.raises(ConnectionError):
                client.ask(SCStatusRequest.create())
        sim.faults.set("drop_after", "0")

        sim.faults.set("garbage_every", "1")
        sim.faults.set("bad_checksum_every", "1")
        with RawClient(sim.port) as client:
            # The garbage line and the corrupt answer each get a 97 from the client;
            # the ILS resends its last answer intact, so the request still succeeds.
            status = client.ask(SCStatusRequest.create())
            assert status.command == "98" and status.checksum_ok
        sim.faults.set("garbage_every", "0")
        sim.faults.set("bad_checksum_every", "0")

        sim.faults.set("terminator", "crlf")
        sim.faults.set("encoding", "cp850")
        with RawClient(sim.port, GENERIC.with_overrides(encoding="cp850")) as client:
            out = client.ask(checkout("P0001", "B0002"))
            assert isinstance(out, CheckoutResponse) and out.ok
            # cp850 has no Vietnamese letters: a legacy ILS sends '?' for them
            assert out.title == "S? ??"  # "Số đỏ"
            assert client.link.framer.terminators_seen == {b"\r\n"}


def test_raw_bytes_of_a_bad_checksum_answer() -> None:
    with running_sim() as sim:
        sim.faults.set("bad_checksum_every", "1")
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
            sock.sendall(encode(SCStatusRequest.create(), sequence=4))
            data = b""
            while not data.endswith(b"\r"):
                data += sock.recv(4096)
        answer = decode(data)
        assert answer.command == "98" and answer.sequence == 4
        assert answer.checksum_ok is False


def test_idle_connections_are_closed_and_down_refuses() -> None:
    with running_sim() as sim:
        sim.faults.set("idle_close", "0.2")
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
            assert sock.recv(10) == b""  # closed by the ILS, no data
        sim.faults.set("idle_close", "0")
        sim.faults.set("down", "1")
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
            assert sock.recv(10) == b""


def test_command_line_serves_notifies_systemd_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    notify_path = str(tmp_path / "notify.sock")
    notify_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_socket.bind(notify_path)
    notify_socket.settimeout(30)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "muontra",
            "ils-sim",
            "--port",
            "0",
            "--db",
            str(db),
            "--seed",
            "10",
            "--login",
            "kiosk:secret",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "NOTIFY_SOCKET": notify_path,
            "WATCHDOG_USEC": "200000",
        },
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on 127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        assert notify_socket.recv(100) == b"READY=1"
        assert notify_socket.recv(100) == b"WATCHDOG=1"
        with RawClient(port) as client:
            login = client.ask(LOGIN)
            assert isinstance(login, LoginResponse) and login.ok
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        messages = []
        while (message := notify_socket.recv(100)) != b"STOPPING=1":
            messages.append(message)
        assert set(messages) <= {b"WATCHDOG=1"}
    finally:
        process.kill()
        process.wait()
        notify_socket.close()
    assert db.exists()


def test_command_line_names_a_wrong_config_key(tmp_path: Path) -> None:
    config = tmp_path / "sim.toml"
    config.write_text("[ils_sim]\nport = 6001\nlatnecy = 2\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "muontra", "ils-sim", "--config", str(config)],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "ils_sim.latnecy" in done.stderr
