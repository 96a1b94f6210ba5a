"""What a nightly backup costs a busy kiosk: archive size, backup and restore time, and
how many journal writes went on meanwhile.

A journal is filled with N finished transactions (rows as the engine writes them, three
steps each, in bulk), then backed up while a writer keeps adding transactions through
the journal's own API (its rate alone first, then during the backup), then restored
onto a fresh directory. Figures only; the tests
(tests/integration/test_backup_*.py) assert the behaviour.

    .venv/bin/python bench/backup.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.backup.device import backup_device
from engine.backup.restore import restore_device
from engine.config.model import parse_config
from engine.journal.models import JournalStep, Transaction
from engine.journal.store import Journal

CONFIG = """
[device]
id = "kiosk-bench"
site = "MUONTRA"
role = "self-checkout"
data_dir = "{data}"
api_socket = "{root}/k.sock"

[ils]
url = "sip2://127.0.0.1:6001?institution=MUONTRA"

[devices]
pad = "sim://pad"
"""


def bulk(journal: Journal, count: int) -> None:
    now = datetime.now()
    with journal.write() as session:
        ids = [uuid.uuid4().hex for _ in range(count)]
        session.add_all(
            Transaction(
                id=txn_id, kind="checkout", state="done", session_id="s",
                patron_id="P0001", patron_ref="ref", item_id=f"B{n:07d}",
                tag_uids=n.to_bytes(8, "big").hex(), offline=False, created_at=now,
                updated_at=now, transaction_date=now, title="A title of some length",
                security_target=False, security_verified=True,
            )
            for n, txn_id in enumerate(ids)
        )  # fmt: skip
        session.flush()  # the steps' foreign key needs their transactions first
        session.add_all(
            JournalStep(transaction_id=txn_id, step=step, at=now)
            for txn_id in ids
            for step in ("started", "ils_ok", "done")
        )


def fill(journal: Journal, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        txn = journal.begin(
            "checkout",
            f"B{n:07d}",
            (n.to_bytes(8, "big"),),
            patron_id="P0001",
            patron_ref="ref",
            session_id="s",
            transaction_date=datetime.now(),
            security_target=False,
        )
        journal.step(txn.id, "ils_ok")
        journal.step(txn.id, "done", count="checkout")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data = root / "data"
        config_path = root / "kiosk.toml"
        config_path.write_text(CONFIG.format(data=data, root=root))
        config = parse_config(config_path.read_text())
        journal = Journal.open(data / "journal.sqlite")
        began = time.perf_counter()
        bulk(journal, count)
        print(f"journal: {count} transactions written in {time.perf_counter() - began:.1f} s")
        size = (data / "journal.sqlite").stat().st_size
        stop = threading.Event()
        written = [0]

        def writer() -> None:
            while not stop.is_set():
                fill(journal, 1, count + written[0])
                written[0] += 1

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        time.sleep(1.0)
        alone = written[0]
        time.sleep(2.0)
        rate_alone = (written[0] - alone) / 2.0
        before = written[0]
        began = time.perf_counter()
        result = backup_device(config, config_path, root / "out", datetime.now(UTC))
        took = time.perf_counter() - began
        during = written[0] - before
        stop.set()
        thread.join()
        journal.close()
        print(
            f"backup: {took:.2f} s for a {size / 1e6:.1f} MB journal, archive "
            f"{result.path.stat().st_size / 1e6:.1f} MB; {during} transactions "
            f"({during / took:.0f}/s) written meanwhile, {rate_alone:.0f}/s without a backup"
        )
        config.device.data_dir = root / "restored"
        began = time.perf_counter()
        restore_device(result.path, config, datetime.now(UTC), migrations={})
        print(f"restore: {time.perf_counter() - began:.2f} s (verify, put in place)")


if __name__ == "__main__":
    main()
