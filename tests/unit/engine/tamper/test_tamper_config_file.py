"""config_changed: the file hashed at load, checked later; a reload's own re-read is no change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.events import EventBus
from engine.security.reporter import SecurityReporter
from engine.tamper.config_file import ConfigFileWatch


class Mono:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _watch(tmp_path: Path) -> tuple[ConfigFileWatch, Path, EventBus, Mono]:
    path = tmp_path / "gate.toml"
    path.write_text('[device]\nid = "gate-01"\n', encoding="utf-8")
    bus, mono = EventBus(), Mono()
    reporter = SecurityReporter(bus, window=60, clock=mono)
    return ConfigFileWatch(path, reporter, settle=60, clock=mono), path, bus, mono


def _security(bus: EventBus) -> list[dict[str, Any]]:
    return [e for e in bus.history() if e["event"] == "security"]


def test_an_untouched_file_is_quiet(tmp_path: Path) -> None:
    watch, _, bus, mono = _watch(tmp_path)
    for _ in range(5):
        mono.now += 60
        assert watch.check() is None
    assert _security(bus) == []


def test_a_change_without_reload_is_reported_after_it_settles(tmp_path: Path) -> None:
    watch, path, bus, mono = _watch(tmp_path)
    path.write_text('[device]\nid = "gate-01"\n[security]\nafi_secured = 0xC2\n', encoding="utf-8")
    assert watch.check() is None  # seen first: a reload may be on its way
    mono.now += 59
    assert watch.check() is None
    mono.now += 1
    assert watch.check() == "changed"
    (sent,) = _security(bus)
    assert sent["threat"] == "config_changed" and sent["detail"] == "changed"
    assert "afi" not in sent and "gate-01" not in str(sent)  # nothing of the file travels


def test_a_reload_after_the_edit_is_not_tampering(tmp_path: Path) -> None:
    watch, path, bus, mono = _watch(tmp_path)
    path.write_text('[device]\nid = "gate-02"\n', encoding="utf-8")
    assert watch.check() is None
    watch.reloading()  # the reload command reads the file
    mono.now += 600
    assert watch.check() is None
    assert _security(bus) == []


def test_removed(tmp_path: Path) -> None:
    watch, path, bus, mono = _watch(tmp_path)
    path.unlink()
    watch.check()
    mono.now += 60
    assert watch.check() == "removed"
    assert _security(bus)[0]["detail"] == "removed"


def test_put_back_as_it_was_is_no_change(tmp_path: Path) -> None:
    watch, path, bus, mono = _watch(tmp_path)
    original = path.read_bytes()
    path.write_bytes(original + b"# x\n")
    watch.check()
    path.write_bytes(original)
    mono.now += 120
    assert watch.check() is None
    assert _security(bus) == []


def test_touching_the_time_alone_is_no_change(tmp_path: Path) -> None:
    import os

    watch, path, _bus, mono = _watch(tmp_path)
    os.utime(path, (1, 1))
    watch.check()
    mono.now += 120
    assert watch.check() is None
