"""Backup and restore of the other roles' data: a running `muontra gate` (its own store
beside the engine's) and a return machine's stores, found without being listed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.backup.sqlite_copy import alembic_revision
from engine.db import head_revision
from engine.journal.store import Journal
from gates.store import MIGRATIONS as GATE_MIGRATIONS
from muontra.cli import main
from sorter.store import MIGRATIONS as SORTER_MIGRATIONS
from sorter.store import SorterStore
from tests.integration.test_gate import GATE_TOML

WHEN = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)


def members(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


def test_a_running_gate_is_backed_up_then_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gate.toml"
    data = tmp_path / "data"
    api_socket = tmp_path / "run" / "gate.sock"
    config.write_text(GATE_TOML.format(data=data, socket=api_socket))
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    process = subprocess.Popen(
        [sys.executable, "-m", "muontra", "gate", "--config", str(config), "--no-ils"],
        env={**os.environ, "NOTIFY_SOCKET": str(notify_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out = tmp_path / "backups"
    restore = ["restore", "--config", str(config)]
    try:
        assert notify.recv(256) == b"READY=1"
        assert main(["backup", "--config", str(config), "--out", str(out)]) == 0
        archive = Path(capsys.readouterr().out.strip())
        shutil.rmtree(data)  # gone under the running gate: still, no restore under it
        assert main([*restore[:1], str(archive), *restore[1:]]) == 1
        assert f"a service is running on {api_socket}" in capsys.readouterr().err
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        notify.close()
    assert archive.name.startswith("muontra-gate-cli-")
    assert "data/gate.sqlite" in members(archive)
    assert main([*restore[:1], str(archive), *restore[1:]]) == 0
    assert alembic_revision(data / "gate.sqlite") == head_revision(GATE_MIGRATIONS)


def test_a_return_machines_stores_are_found_and_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    config = tmp_path / "sorter.toml"
    config.write_text(
        (Path(__file__).resolve().parents[2] / "config" / "sorter.example.toml")
        .read_text()
        .replace('data_dir = "/var/lib/muontra-sorter"', f'data_dir = "{data}"')
    )
    with SorterStore.open(data / "sorter.sqlite") as store:
        store.add_read("B0001", WHEN, None, True)
    Journal.open(data / "journal.sqlite").close()
    (data / "manifests").mkdir()
    (data / "manifests" / "bin-1.txt").write_text("B0001\n")
    out = tmp_path / "backups"
    code = main(["backup", "--config", str(config), "--out", str(out)])
    archive = Path(capsys.readouterr().out.strip())
    assert code == 0
    assert {"data/sorter.sqlite", "data/journal.sqlite", "data/manifests/bin-1.txt"} <= set(
        members(archive)
    )
    shutil.rmtree(data)
    assert main(["restore", str(archive), "--config", str(config)]) == 0
    assert (data / "manifests" / "bin-1.txt").read_text() == "B0001\n"
    assert alembic_revision(data / "sorter.sqlite") == head_revision(SORTER_MIGRATIONS)
    with SorterStore.open(data / "sorter.sqlite") as store, store.read() as session:
        from sqlalchemy import text

        assert session.execute(text("SELECT count(*) FROM sorter_items")).scalar_one() == 1
