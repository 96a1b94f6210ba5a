"""The engine names a patron by a reference nobody can compute without the site's key.

Reproduces the attack of issue 12: with an unkeyed SHA-256 cut to 10 hex
digits, a table of every card number P0000…P9999 reversed the reference of
P0001 in a fraction of a second. Here the same table finds nothing, whether
the site's key is configured or the kiosk made its own; the site's devices
share references, another site's key gives others.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.config import load_config
from kiosk.core import Engine
from tests.engine.harness import write_config

SITE_KEY = "5e" * 32


def reverse(ref: str) -> str | None:
    """The attack: hash every card number and look the reference up."""
    digits = ref.removeprefix("p-")
    for n in range(10_000):
        card = f"P{n:04d}"
        if hashlib.sha256(card.encode()).hexdigest().startswith(digits[:10]):
            return card
    return None


@contextmanager
def engine(tmp_path: Path, key_line: str = "") -> Iterator[Engine]:
    tmp_path.mkdir(exist_ok=True)
    path = write_config(tmp_path, 9)  # the ILS is never asked: a PIN comes first
    text = path.read_text().replace('site = "MUONTRA"\n', f'site = "MUONTRA"\n{key_line}\n')
    path.write_text(text)
    kiosk = Engine(load_config(path))
    try:
        yield kiosk
    finally:
        kiosk.stop()


def identified_ref(kiosk: Engine, patron_id: str) -> str:
    answer = kiosk.identify("typed", patron_id)
    assert answer["need_pin"] is True
    events = [e for e in kiosk.bus.history() if e["event"] == "patron_identified"]
    assert events[-1]["patron_ref"] == answer["patron_ref"]
    return str(answer["patron_ref"])


def test_a_kiosk_without_a_site_key_gives_no_reversible_ref(tmp_path: Path) -> None:
    with engine(tmp_path / "a") as kiosk:
        ref = identified_ref(kiosk, "P0001")
    assert reverse(ref) is None
    with engine(tmp_path / "a") as kiosk:  # restarted on the same data_dir: the same ref
        assert identified_ref(kiosk, "P0001") == ref


def test_the_site_key_makes_one_ref_per_site(tmp_path: Path) -> None:
    secret = tmp_path / "site-key"
    secret.write_text(SITE_KEY + "\n")
    line = f'site_key_file = "{secret}"'
    with engine(tmp_path / "kiosk-1", line) as one, engine(tmp_path / "kiosk-2", line) as two:
        ref = identified_ref(one, "P0001")
        assert identified_ref(two, "P0001") == ref  # two devices of the site agree
    assert reverse(ref) is None
    other = tmp_path / "other-site-key"
    other.write_text("a7" * 32 + "\n")
    with engine(tmp_path / "kiosk-3", f'site_key_file = "{other}"') as three:
        assert identified_ref(three, "P0001") != ref


def test_a_damaged_device_key_stops_the_daemon_with_a_sentence_not_a_traceback(
    tmp_path: Path,
) -> None:
    """The kiosk never replaces a damaged key by itself (every PIN lockout would be
    forgotten): it stops with exit code 3 and says what to do, for systemd's journal."""
    config = write_config(tmp_path, 9)
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "patron-ref.key").write_bytes(b"short")
    done = subprocess.run(
        [sys.executable, "-m", "muontra", "kiosk", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "damaged" in done.stderr and "site_key_file" in done.stderr
    assert "Traceback" not in done.stderr
