"""The return machine on the fleet, through a real mosquitto: sorted items and exceptions
go out as item_sorted and sort_exception (no patron in either), and central's empty_bin
empties the sorter's bin for real (count, manifest) and is announced once."""

from __future__ import annotations

from pathlib import Path

from drivers.sim.reader import item_tag
from sorter.service import sorter_commands
from tests.integration.sorter_rig import sorter_rig
from tests.integration.test_mqtt_empty_bin import Device, _command, _events, _send, watcher
from tests.integration.test_mqtt_link import Broker, Watcher, broker

__all__ = ["broker", "watcher"]  # fixtures used here


def test_sorted_items_exceptions_and_empty_bin_over_mqtt(
    tmp_path: Path, broker: Broker, watcher: Watcher
) -> None:
    with sorter_rig(tmp_path) as rig:
        device = Device(broker, rig.sorter.bus, sorter_commands(rig.sorter))
        try:
            items = rig.feed([item_tag("B0009"), None])
            rig.settle(items)
            rig.wait_counts({"hold": 1, "x": 1})
            watcher.wait(lambda: bool(_events(watcher, "item_sorted")), "item_sorted")
            watcher.wait(lambda: bool(_events(watcher, "sort_exception")), "sort_exception")
            (sorted_event,) = _events(watcher, "item_sorted")
            assert dict(sorted_event.data) == {
                "item_id": "B0009",
                "bin": "hold",
                "reason": "hold",
                "title": "Chí Phèo",
                "offline": False,
            }
            (exception,) = _events(watcher, "sort_exception")
            assert dict(exception.data) == {"bin": "x", "reason": "unreadable_tag"}

            result = _send(watcher, _command("empty_bin", bin="hold", staff="Lan"))
            assert result.ok, result.detail
            assert result.detail.startswith("bin hold emptied: 1 item(s), slip not printed")
            watcher.wait(lambda: bool(_events(watcher, "bin_emptied")), "bin_emptied")
            (emptied,) = _events(watcher, "bin_emptied")
            assert dict(emptied.data) == {"bin": "hold", "count": 1, "staff": "Lan"}
            assert list((tmp_path / "manifests").glob("bin-hold-*.csv"))
            counts = {b["id"]: b["count"] for b in rig.sorter.status()["bins"]}
            assert counts["hold"] == 0

            wrong = _send(watcher, _command("empty_bin", bin="9"))
            assert not wrong.ok and "no bin '9'" in wrong.detail
            paused = _send(watcher, _command("lock"))
            assert paused.ok and rig.sorter.status()["state"] == "paused"
        finally:
            device.close()
