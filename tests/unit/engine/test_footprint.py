"""What keeps the daemons small (issue 15): migrations only when needed, and away from the
daemon; a bounded, compact event history; python-escpos without its YAML parse; free heap
pages given back. Memory itself is measured by bench/footprint.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from central.ops import release_free_memory as central_release
from engine import db
from engine.cli_daemon import release_free_memory
from engine.events import EventBus
from engine.journal.store import Journal
from engine.mqtt.outbox import Outbox

ROOT = Path(__file__).resolve().parents[3]
MIGRATION_DIRS = sorted(
    p.parent
    for p in [*ROOT.glob("*/migrations/env.py"), *ROOT.glob("*/*/migrations/env.py")]
    if p.relative_to(ROOT).parts[0] not in {"build", ".venv"}
)


def _child(code: str, *args: str) -> str:
    """Run ``code`` in a fresh interpreter (its own sys.modules) and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# --- migrations ----------------------------------------------------------------------------


def test_every_migrations_dir_is_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in MIGRATION_DIRS}
    assert {"engine/journal/migrations", "engine/mqtt/migrations", "central/migrations"} <= names


@pytest.mark.parametrize("migrations", MIGRATION_DIRS, ids=lambda p: str(p.relative_to(ROOT)))
def test_heads_read_from_the_scripts_are_alembics(migrations: Path) -> None:
    assert db.script_heads(migrations) == {db.head_revision(migrations)}


def test_a_current_database_opens_without_alembic(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    Outbox.open(path).close()  # created and migrated here
    code = (
        "import sys; from engine.mqtt.outbox import Outbox\n"
        "with Outbox.open(sys.argv[1]) as o: print(o.current_revision())\n"
        "print('alembic' in sys.modules)"
    )
    assert _child(code, str(path)).split() == ["0002", "False"]


def test_an_older_database_is_still_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with Outbox.open(path, migrate=False) as outbox:
        outbox.upgrade("0001")
        assert outbox.current_revision() == "0001"
    with Outbox.open(path) as outbox:
        assert outbox.current_revision() == "0002"
        outbox.add("t", b"{}")  # the table of 0002 is there too
        with outbox.engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM mqtt_answered_commands")).scalar_one()


def test_a_daemon_migrates_in_a_child_and_never_imports_alembic(tmp_path: Path) -> None:
    code = (
        "import sys; from engine import db\n"
        "from engine.journal.store import Journal; from engine.mqtt.outbox import Outbox\n"
        "db.migrate_in_child()\n"
        "with Journal.open(sys.argv[1] + '/journal.db') as j: print(j.current_revision())\n"
        "with Outbox.open(sys.argv[1] + '/outbox.db') as o:\n"
        "    o.add('t', b'{}'); print(o.current_revision(), o.count())\n"
        "print('alembic' in sys.modules)"
    )
    assert _child(code, str(tmp_path)).split() == ["0001", "0002", "1", "False"]
    # What the child left is what an in-process migration leaves.
    with Journal.open(tmp_path / "journal.db") as journal:
        assert journal.current_revision() == db.head_revision(Journal.MIGRATIONS)


def test_a_failed_child_migrates_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db.SqliteStore, "MIGRATE_IN_CHILD", True)
    monkeypatch.setattr(db, "_CHILD", "raise SystemExit('no migration here')")
    with Outbox.open(tmp_path / "outbox.db") as outbox:
        assert outbox.current_revision() == "0002"


def test_the_page_cache_is_bounded(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "outbox.db") as outbox, outbox.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -db.CACHE_KIB


# --- event history -------------------------------------------------------------------------


def test_history_is_bounded_and_gives_back_what_was_published() -> None:
    bus = EventBus(history=50)
    published = [
        bus.publish("item", n=n, item_id=f"B{n:04d}", title="Truyện Kiều", tags=[{"afi": 7}])
        for n in range(120)
    ]
    history = bus.history()
    assert history == published[-50:]
    assert [e["seq"] for e in history] == list(range(71, 121))
    # Fresh dicts: a caller changing one changes neither the bus nor the next caller's.
    history[0]["n"] = -1
    assert bus.history()[0]["n"] == 70


def test_history_keeps_events_json_would_change() -> None:
    bus = EventBus(history=10)
    odd = bus.publish("odd", pair=(1, 2), when=float("nan"), raw=b"x")
    plain = bus.publish("plain", pair=[1, 2])
    kept = bus.history()
    assert kept[0] is odd and kept[0]["pair"] == (1, 2)
    assert kept[1] == plain


# --- python-escpos, e-mail, the C heap -------------------------------------------------------


def test_escpos_capabilities_come_from_our_pickle_not_yaml(tmp_path: Path) -> None:
    code = (
        "import os, tempfile, yaml\n"
        "def refuse(*a, **k): raise AssertionError('YAML parsed')\n"
        "yaml.safe_load = refuse\n"
        "from drivers import escpos_cache\n"
        "caps = escpos_cache.import_capabilities().CAPABILITIES\n"
        "print(len(caps['profiles']) > 10, 'ESCPOS_CAPABILITIES_PICKLE_DIR' in os.environ)\n"
        "print(sorted(n for n in os.listdir(tempfile.gettempdir()) if 'muontra' in n))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCPOS_")}
    env["TMPDIR"] = str(tmp_path)  # this child's folders only
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True False", "[]"]


def test_the_json_read_is_what_yaml_reads() -> None:
    source = resources.files("escpos") / "capabilities.json"
    content = source.read_text(encoding="utf-8")
    assert json.loads(content) == yaml.safe_load(content)


def test_mail_modules_wait_for_a_mailed_receipt() -> None:
    code = "import sys, kiosk.receipts; print('smtplib' in sys.modules)"
    assert _child(code) == "False"


def test_releasing_free_memory_is_harmless() -> None:
    bus = EventBus(history=10)
    bus.publish("before")
    released = release_free_memory()
    assert released == (sys.platform.startswith("linux") and _glibc())
    assert release_free_memory() == released
    assert central_release() == released  # central's own copy (it may not import the engine)
    bus.publish("after")
    assert [e["event"] for e in bus.history()] == ["before", "after"]


def _glibc() -> bool:
    import platform

    return platform.libc_ver()[0] == "glibc"
