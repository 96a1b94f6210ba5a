"""The kiosk with hostile and foreign-looking tags on its pad (issue 12, items 3 and 5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.sim.field import SimTag, TagField, uid_for
from tests.engine.harness import Kiosk, ils_simulator, write_config

# ISO 28560-2: item 1, then a type of usage "zz" in octet string: a plain ValueError
# from the decoder before, which failed every pad round while the tag lay there.
HOSTILE_MEMORY = bytes.fromhex("11 01 05  65 02 7A 7A  00")


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Kiosk]:
    with ils_simulator(tmp_path / "ils.sqlite") as (server, _store):
        path = write_config(tmp_path, server.port)
        text = path.read_text().replace("owner_libraries = []", 'owner_libraries = ["VN-HN0001"]')
        path.write_text(text)
        k = Kiosk(path)
        try:
            yield k
        finally:
            k.close()


def login(kiosk: Kiosk) -> None:
    kiosk.call("identify", method="typed", value="P0001")
    kiosk.call("pin", pin="1234")


def pad(tmp_path: Path) -> TagField:
    return TagField.named(f"pad-{tmp_path.name}")


def test_a_hostile_tag_on_the_pad_does_not_stop_the_others(kiosk: Kiosk, tmp_path: Path) -> None:
    login(kiosk)
    hostile = pad(tmp_path).place(SimTag.with_data(uid_for("hostile"), HOSTILE_MEMORY))
    unreadable = kiosk.event("item", outcome="unknown_model", uid=hostile.uid.hex().upper())
    assert "type of usage" in unreadable["detail"]
    kiosk.call("sim_place", item_id="B0001", owner="VN-HN0001")
    kiosk.call("sim_place", item_id="B0002", owner="VN-HN0001")
    outcomes = {kiosk.event("item", outcome="checked_out")["item_id"] for _ in range(2)}
    assert outcomes == {"B0001", "B0002"}
    assert kiosk.engine.healthy()


def test_own_library_written_without_its_hyphen_is_not_foreign(kiosk: Kiosk) -> None:
    """ISO 28560-3 / Danish tags store VNHN0001 for the configured VN-HN0001."""
    login(kiosk)
    kiosk.call("sim_place", item_id="B0003", owner="VNHN0001")
    assert kiosk.event("item", outcome="checked_out")["item_id"] == "B0003"
    kiosk.call("sim_place", item_id="B0004", owner="VN-HCM0002")
    assert kiosk.event("item", outcome="foreign_item")["item_id"] == "B0004"
