"""`muontra backup` and `muontra restore` killed (SIGKILL, as a power cut would stop them)
at their worst moments, each in a child process run as the command line runs it
(``MUONTRA_CRASH_AT``, engine/circulation/crash.py). After each kill: the state before
is whole and usable (the newest good archive restores, the kiosk's journal opens with
every transaction), and the same command run again succeeds and clears what the dead
run left."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.field import uid_for
from engine.backup.device import backup_device
from engine.cli_daemon import load_device
from engine.config import load_config
from engine.journal.store import Journal
from engine.mqtt.outbox import Outbox
from muontra.cli import main
from tests.engine.harness import wait_for

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[device]
id = "kiosk-01"
site = "MUONTRA"
role = "self-checkout"
data_dir = "{data}"
api_socket = "{socket}"

[ils]
url = "sip2://127.0.0.1:6001?institution=MUONTRA"

[devices]
pad = "sim://pad"
"""
NO_EXCHANGE = (
    "import sys, engine.backup.swap as swap; swap.exchange = lambda a, b: False; "
    "from muontra.cli import main; sys.exit(main(sys.argv[1:]))"
)
"""The command line on a system without RENAME_EXCHANGE: the two-rename fallback."""


def lend(data: Path, *items: str) -> None:
    """Transactions journaled as the kiosk journals them (the journal a restore brings back)."""
    with Journal.open(data / "journal.sqlite") as journal:
        for item in items:
            journal.begin(
                "checkout",
                item,
                (uid_for(item),),
                patron_id="P0001",
                patron_ref=None,
                session_id=None,
                transaction_date=datetime.now(),
                security_target=False,
            )


def lent(data: Path) -> list[str]:
    """The items in the kiosk's journal, opened as the kiosk opens it (checked first)."""
    with Journal.open(data / "journal.sqlite") as journal:
        return sorted(txn.item_id for txn in journal.all())


@pytest.fixture
def kiosk(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    Outbox.open(data / "outbox.sqlite").close()
    lend(data, "B0001")
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG.format(data=data, socket=tmp_path / "k.sock"))
    return {"config": config, "data": data, "root": tmp_path, "out": tmp_path / "backups"}


def muontra(
    *args: str | Path, crash_at: str | None = None, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "MUONTRA_CRASH_AT"}
    if crash_at is not None:
        env["MUONTRA_CRASH_AT"] = crash_at
    how = ["-c", code] if code is not None else ["-m", "muontra"]
    return subprocess.run(
        [sys.executable, *how, *map(str, args)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def killed(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr)


def succeeded(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stderr


def archives(out: Path) -> list[Path]:
    return sorted(out.glob("muontra-kiosk-01-*.tar"))


def earlier_backup(kiosk: dict[str, Path], days: int) -> Path:
    config = load_config(kiosk["config"])
    when = datetime.now(UTC) - timedelta(days=days)
    return backup_device(config, kiosk["config"], kiosk["out"], when).path


def restores_to(kiosk: dict[str, Path], archive: Path, name: str) -> list[str]:
    """What ``archive`` holds, restored into a fresh folder and opened as the kiosk would."""
    target = kiosk["root"] / name
    code = main(
        ["restore", str(archive), "--config", str(kiosk["config"]), "--data-dir", str(target)]
    )
    assert code == 0
    return lent(target)


def leftovers(kiosk: dict[str, Path]) -> list[str]:
    hidden = [p.name for p in kiosk["out"].glob(".*")] if kiosk["out"].exists() else []
    staging = [p.name for p in kiosk["root"].glob("data.restoring-*")]
    return sorted(hidden + staging)


def backup_args(kiosk: dict[str, Path], *more: str) -> list[str | Path]:
    return ["backup", "--config", kiosk["config"], "--out", kiosk["out"], *more]


@pytest.mark.parametrize("point", ["backup:archive_partial", "backup:before_rename"])
def test_a_backup_killed_before_its_archive_is_whole_leaves_the_last_good_one(
    kiosk: dict[str, Path], point: str
) -> None:
    good = earlier_backup(kiosk, days=1)
    lend(kiosk["data"], "B0002")
    killed(muontra(*backup_args(kiosk), crash_at=point))
    partial = [p.name for p in kiosk["out"].glob(".muontra-kiosk-01-*.tar.partial")]
    assert len(partial) == 1  # the dead run did leave a partial file behind
    assert archives(kiosk["out"]) == [good]  # ...and it is not taken for a backup
    assert restores_to(kiosk, good, "check-good") == ["B0001"]
    assert lent(kiosk["data"]) == ["B0001", "B0002"]  # the data backed up is untouched

    said = succeeded(muontra(*backup_args(kiosk, "--keep", "1")))
    assert f"removed {partial[0]}, left by a backup that was killed" in said
    assert "muontra-backup-kiosk-01~" in said  # its staging folder too
    (newest,) = archives(kiosk["out"])
    assert newest != good
    assert leftovers(kiosk) == []
    assert restores_to(kiosk, newest, "check-new") == ["B0001", "B0002"]


def test_a_backup_killed_while_rotating_keeps_the_new_archive(kiosk: dict[str, Path]) -> None:
    old = [earlier_backup(kiosk, days=days) for days in (3, 2, 1)]
    lend(kiosk["data"], "B0002")
    killed(muontra(*backup_args(kiosk, "--keep", "1"), crash_at="backup:rotating"))
    left = archives(kiosk["out"])
    (new,) = set(left) - set(old)
    assert 1 < len(left) < 4  # killed midway: one old archive gone, not all
    assert new.name > old[-1].name
    assert restores_to(kiosk, new, "check-new") == ["B0001", "B0002"]

    # The next run may not share the dead one's second (its name would be taken).
    wait_for(
        lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") not in new.name,
        what="the clock to pass the killed run's second",
    )
    succeeded(muontra(*backup_args(kiosk, "--keep", "1")))
    (newest,) = archives(kiosk["out"])
    assert newest.name > new.name
    assert leftovers(kiosk) == []
    assert restores_to(kiosk, newest, "check-newest") == ["B0001", "B0002"]


def test_rotation_never_removes_the_archive_just_written(kiosk: dict[str, Path]) -> None:
    """A clock set back dates the new archive before the old ones; it is kept anyway."""
    later = earlier_backup(kiosk, days=-30)
    lend(kiosk["data"], "B0002")
    config = load_config(kiosk["config"])
    done = backup_device(config, kiosk["config"], kiosk["out"], datetime.now(UTC), keep=1)
    assert done.removed == (later,)
    assert archives(kiosk["out"]) == [done.path]


def restore_args(kiosk: dict[str, Path], archive: Path) -> list[str | Path]:
    return ["restore", archive, "--config", kiosk["config"], "--force"]


def set_aside(kiosk: dict[str, Path]) -> list[Path]:
    return sorted(kiosk["root"].glob("data.before-restore-*"))


def test_a_restore_killed_after_unpacking_leaves_the_old_data_in_place(
    kiosk: dict[str, Path],
) -> None:
    archive = earlier_backup(kiosk, days=1)
    lend(kiosk["data"], "B0002")
    killed(muontra(*restore_args(kiosk, archive), crash_at="restore:unpacked"))
    assert lent(kiosk["data"]) == ["B0001", "B0002"]  # untouched, and it opens
    (staging,) = kiosk["root"].glob("data.restoring-*")
    assert (staging / "data" / "journal.sqlite").is_file()  # killed with all unpacked

    said = succeeded(muontra(*restore_args(kiosk, archive)))
    assert f"removed {staging}, left by a restore killed before it changed" in said
    assert lent(kiosk["data"]) == ["B0001"]
    (aside,) = set_aside(kiosk)
    assert lent(aside) == ["B0001", "B0002"]  # the data that was there, kept
    assert leftovers(kiosk) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["rename-exchange", "two-renames"])
def test_a_restore_killed_while_swapping_is_finished_by_the_next(
    kiosk: dict[str, Path], exchange: bool
) -> None:
    archive = earlier_backup(kiosk, days=1)
    lend(kiosk["data"], "B0002")
    code = None if exchange else NO_EXCHANGE
    killed(muontra(*restore_args(kiosk, archive), crash_at="restore:swapping", code=code))
    (staging,) = kiosk["root"].glob("data.restoring-*")
    if exchange:
        # One atomic exchange: data_dir already holds the restored data, and opens.
        assert lent(kiosk["data"]) == ["B0001"]
        assert lent(staging / "data") == ["B0001", "B0002"]  # the old, not yet aside
    else:
        # Killed between the two renames: the old data aside, no data_dir for now.
        assert not kiosk["data"].exists()
        (aside,) = set_aside(kiosk)
        assert lent(aside) == ["B0001", "B0002"]

    said = succeeded(muontra(*restore_args(kiosk, archive)))
    assert "finished the restore killed while it swapped" in said
    assert lent(kiosk["data"]) == ["B0001"]
    kept = set_aside(kiosk)
    # The first restore's aside holds the old data; the rerun set the restored one aside.
    assert sorted(lent(path) for path in kept) == [["B0001"], ["B0001", "B0002"]]
    assert leftovers(kiosk) == []
    assert not list(kiosk["root"].glob("data.restoring-*"))


def test_a_restore_killed_while_swapping_into_no_data_dir(kiosk: dict[str, Path]) -> None:
    """The SD card died: nothing to swap with, one rename; killed before it, no harm."""
    archive = earlier_backup(kiosk, days=1)
    for path in sorted(kiosk["data"].rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    kiosk["data"].rmdir()
    killed(muontra(*restore_args(kiosk, archive), crash_at="restore:unpacked"))
    assert not kiosk["data"].exists()
    said = succeeded(muontra("restore", archive, "--config", kiosk["config"]))
    assert "left by a restore killed before it changed" in said
    assert lent(kiosk["data"]) == ["B0001"]
    assert set_aside(kiosk) == []
    assert leftovers(kiosk) == []


def test_a_daemon_starting_after_a_restore_killed_between_two_renames_finishes_it(
    kiosk: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Without RENAME_EXCHANGE a kill between the renames leaves no data_dir: the kiosk
    starting next (systemd restarts it) must not begin on an empty folder."""
    archive = earlier_backup(kiosk, days=1)
    lend(kiosk["data"], "B0002")
    killed(muontra(*restore_args(kiosk, archive), crash_at="restore:swapping", code=NO_EXCHANGE))
    assert not kiosk["data"].exists()

    args = argparse.Namespace(config=kiosk["config"], data_dir=None, socket=None)
    with caplog.at_level(logging.WARNING, logger="engine.cli_daemon"):
        assert load_device("kiosk", args) is not None
    assert lent(kiosk["data"]) == ["B0001"]  # the restored data, in place
    (aside,) = set_aside(kiosk)
    assert lent(aside) == ["B0001", "B0002"]  # the old data, kept
    assert leftovers(kiosk) == []
    assert "finished the restore killed while it swapped" in caplog.text
