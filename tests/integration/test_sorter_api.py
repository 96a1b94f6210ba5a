"""The sorter's local API over its Unix socket (the contract in docs/sorter.md): the wall
screen's events as items are sorted, staff commands, and clear refusals of bad arguments;
and `muontra sorter` as a real process, ready on its socket."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers.sim.reader import item_tag
from kiosk.api import ApiClient, CommandFailed
from sorter.api import SorterApiServer
from tests.integration.sorter_rig import sorter_rig

ROOT = Path(__file__).resolve().parents[2]


def next_event(
    client: ApiClient, name: str, timeout: float = 20.0, since: int | None = None
) -> dict[str, object]:
    """The next event called ``name``; with ``since``, first among those the client already
    moved into ``client.events`` from that index on (every ``result`` call does so with the
    events that arrived before its answer, and an event may beat the answer or follow it)."""
    for event in client.events[since:] if since is not None else []:
        if event.get("event") == name:
            return event
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        event = client.next_event(left)
        if event is not None and event.get("event") == name:
            return event
    raise AssertionError(f"no {name} event within {timeout} s")


def test_the_wall_screen_sees_each_item_and_the_bins(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        server = SorterApiServer(tmp_path / "api.sock", rig.sorter)
        server.serve_in_thread()
        client = ApiClient(tmp_path / "api.sock", timeout=10)
        try:
            client.subscribe()
            drop = client.result("drop_begin")["drop"]
            rig.feed([item_tag("B0009"), None])
            sorted_item = next_event(client, "item")
            assert sorted_item["item_id"] == "B0009"
            assert sorted_item["outcome"] == "sorted" and sorted_item["bin"] == "hold"
            assert sorted_item["text"] == {"vi": "Đã nhận — cảm ơn.", "en": "Returned — thank you."}
            blank = next_event(client, "item")
            assert (blank["outcome"], blank["reason"]) == ("exception", "unreadable_tag")
            rig.wait_counts({"hold": 1, "x": 1})  # both landed
            # The bins were told as each item was counted (before its item event).
            bins = [e for e in client.events if e.get("event") == "bins"][-1]["bins"]
            assert {b["id"] for b in bins} == {"1", "hold", "transit", "x"}
            ended = client.result("drop_end")
            assert ended["drop"] == drop
            assert [i["item_id"] for i in ended["items"]] == ["B0009", ""]
            (entry,) = client.result("exceptions", limit=5)["items"]
            assert entry["reason"] == "unreadable_tag" and entry["bin"] == "x"
            status = client.result("status")
            assert status["state"] == "running" and status["link"] == "ok"
            assert {b["id"]: b["role"] for b in status["bins"]}["hold"] == "hold"
            seen = len(client.events)
            emptied = client.result("empty_bin", bin="hold", staff="Lan")
            assert (emptied["bin"], emptied["items"], emptied["printed"]) == ("hold", 1, False)
            manifest = Path(emptied["manifest"])
            assert manifest.parent == tmp_path / "manifests"
            assert "B0009" in manifest.read_text(encoding="utf-8-sig")
            told = next_event(client, "bin_emptied", since=seen)
            assert (told["bin"], told["count"], told["staff"]) == ("hold", 1, "Lan")
            assert {b["id"]: b["count"] for b in client.result("status")["bins"]}["hold"] == 0
            assert client.result("staff_report") == {"lines": []}
        finally:
            client.close()
            server.close()


@pytest.mark.parametrize(
    ("cmd", "args"),
    [
        ("exceptions", {"limit": 0}),
        ("exceptions", {"limit": True}),
        ("empty_bin", {"bin": "nope"}),
        ("empty_bin", {}),
        ("language", {"lang": "fr"}),
        ("receipt", {"drop": "x", "how": "print"}),
    ],
)
def test_bad_arguments_are_refused_clearly(
    tmp_path: Path, cmd: str, args: dict[str, object]
) -> None:
    with sorter_rig(tmp_path) as rig:
        server = SorterApiServer(tmp_path / "api.sock", rig.sorter)
        server.serve_in_thread()
        client = ApiClient(tmp_path / "api.sock", timeout=10)
        try:
            with pytest.raises(CommandFailed):
                client.result(cmd, **args)
            assert client.result("status")["state"] == "running"  # still serving
        finally:
            client.close()
            server.close()


def test_pause_closes_the_intake_and_resume_opens_it(tmp_path: Path) -> None:
    with sorter_rig(tmp_path) as rig:
        rig.sorter.pause(True)
        status = rig.sorter.status()
        assert (status["state"], status["belt"], status["intake_open"]) == (
            "paused",
            "stopped",
            False,
        )
        assert not rig.machine.outputs["belt"] and not rig.machine.outputs["shutter"]
        rig.sorter.pause(False)
        assert rig.sorter.status()["state"] == "running"
        assert rig.machine.outputs["belt"] and rig.machine.outputs["shutter"]


def test_muontra_sorter_runs_and_answers_on_its_socket(tmp_path: Path) -> None:
    config = (ROOT / "config" / "sorter.example.toml").read_text(encoding="utf-8")
    path = tmp_path / "sorter.toml"
    path.write_text(config, encoding="utf-8")
    sock = tmp_path / "s.sock"
    overrides = ["--data-dir", str(tmp_path), "--socket", str(sock)]
    process = subprocess.Popen(
        [sys.executable, "-m", "muontra", "sorter", "--config", str(path), *overrides],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        env={**os.environ, "NOTIFY_SOCKET": ""},
    )
    try:
        assert process.stderr is not None
        ready = process.stderr.readline().decode()
        while ready and "ready" not in ready:
            ready = process.stderr.readline().decode()
        assert "sorter-01 ready with 4 bin(s)" in ready
        client = ApiClient(sock, timeout=10)
        try:
            status = client.result("status")
            assert status["state"] == "running" and status["ils_online"] is True
            assert client.result("language", lang="en") == {"language": "en"}
        finally:
            client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
