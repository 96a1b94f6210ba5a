"""Attack detection in a running kiosk (issue 15): the engine on simulators, the ILS
simulator over TCP; each test fails without its hook in the engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.field import uid_for
from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk.api import CommandFailed
from protocols.mqtt.security_schema import Threat
from protocols.tags import TagData, decode, encode
from tests.engine.harness import Kiosk, wait_for, write_config

DETECTION = """
[detection]
pin_guessing_cards = 3
unknown_item_repeats = 3
"""


@pytest.fixture
def watched(tmp_path: Path, ils: tuple[SimServerThread, Store]) -> Iterator[Kiosk]:
    k = Kiosk(write_config(tmp_path, ils[0].port, extra=DETECTION))
    yield k
    k.close()


@pytest.fixture
def returns(tmp_path: Path, ils: tuple[SimServerThread, Store]) -> Iterator[Kiosk]:
    k = Kiosk(write_config(tmp_path, ils[0].port, role="return", extra=DETECTION))
    yield k
    k.close()


def security(kiosk: Kiosk, threat: str) -> list[dict[str, Any]]:
    return [
        e for e in kiosk.engine.bus.history() if e["event"] == "security" and e["threat"] == threat
    ]


def wrong_pin(kiosk: Kiosk, patron: str, pin: str = "0000") -> str:
    """One wrong PIN for ``patron``; the session's patron_ref."""
    kiosk.call("identify", method="typed", value=patron)
    ref = kiosk.engine.session.ref if kiosk.engine.session else ""
    with pytest.raises(CommandFailed) as refused:
        kiosk.call("pin", pin=pin)
    assert refused.value.error["code"] in ("wrong_pin", "pin_locked")
    kiosk.call("cancel")
    return ref


def test_wrong_pins_across_cards_are_pin_guessing(watched: Kiosk) -> None:
    refs = [wrong_pin(watched, patron) for patron in ("P0001", "P0003")]
    assert security(watched, "pin_guessing") == []
    refs.append(wrong_pin(watched, "P0004"))
    [guessing] = security(watched, "pin_guessing")
    assert guessing["severity"] == "critical" and guessing["cards"] == 3
    assert guessing["count"] == 3
    wrong = security(watched, "pin_wrong")
    # Each card's keyed patron_ref, the same the kiosk's other events carry; never the id.
    assert [e["patron_ref"] for e in wrong] == refs
    assert all(e["severity"] == "info" for e in wrong)
    assert "P000" not in str([*wrong, guessing])


def test_the_per_card_lockout_stays(watched: Kiosk) -> None:
    for _ in range(3):
        wrong_pin(watched, "P0001")
    with pytest.raises(CommandFailed) as locked:
        watched.call("identify", method="typed", value="P0001")
    assert locked.value.error["code"] == "pin_locked"
    assert security(watched, "pin_guessing") == []  # one card: the lockout's business
    [wrong] = security(watched, "pin_wrong")  # rate-limited: one event, three counted
    assert wrong["count"] == 1
    assert watched.engine.security.seen(Threat.PIN_WRONG, ("card", wrong["patron_ref"])) == 3


def test_one_item_id_on_a_second_tag_is_a_cloned_tag(returns: Kiosk) -> None:
    returns.call("sim_place", item_id="B0001")
    returns.event("item", item_id="B0001", outcome="returned")
    returns.call("sim_remove", item_id="B0001")
    returns.event("tag_removed", uid=uid_for("B0001").hex().upper())
    forged = "E00401DEADBEEF01"
    returns.call("sim_place", item_id="B0001", uid=forged, fresh=True)
    wait_for(lambda: security(returns, "cloned_tag"), what="cloned_tag")
    [cloned] = security(returns, "cloned_tag")
    assert cloned["item_id"] == "B0001" and cloned["severity"] == "critical"
    assert cloned["uid"] == forged
    assert cloned["other_uid"] == uid_for("B0001").hex().upper()


def test_a_tag_whose_crc_does_not_match_is_tag_data_mismatch(watched: Kiosk) -> None:
    memory = bytearray(encode(TagData(model="iso28560-3", item_id="B0002")))
    at = memory.index(b"B0002")
    memory[at : at + 5] = b"B0003"  # the item id changed, the CRC left as it was
    assert decode(bytes(memory)).crc_valid is False
    uid = "E004010000C0FFEE"
    watched.call("sim_place", item_id="B0003", uid=uid, memory=memory.hex())
    watched.event("item", outcome="tag_unreadable")
    [mismatch] = security(watched, "tag_data_mismatch")
    assert (mismatch["uid"], mismatch["detail"]) == (uid, "crc_mismatch")


def test_unknown_data_and_blank_tags(watched: Kiosk) -> None:
    watched.call("sim_place", item_id="X", uid="E004010000000B1A", memory="00" * 32)
    watched.call("sim_place", item_id="Y", uid="E004010000000BAD", memory="C3" * 32)
    wait_for(lambda: security(watched, "tag_data_mismatch"), what="tag_data_mismatch")
    [mismatch] = security(watched, "tag_data_mismatch")
    assert (mismatch["uid"], mismatch["detail"]) == ("E004010000000BAD", "unknown_model")


def test_an_unknown_item_laid_again_and_again_is_reported(returns: Kiosk) -> None:
    for n in range(3):
        returns.call("sim_place", item_id="Z9999")
        final = returns.event("item", item_id="Z9999", outcome="checkin_refused")
        assert "item_unknown" not in final  # a detector's mark, not the screen's
        returns.call("sim_remove", item_id="Z9999")
        returns.event("tag_removed", uid=uid_for("Z9999").hex().upper())
        if n < 2:
            assert security(returns, "unknown_item_repeated") == []
    [repeated] = security(returns, "unknown_item_repeated")
    assert repeated["item_id"] == "Z9999" and repeated["count"] == 3


def test_a_known_item_refused_is_not_an_unknown_one(watched: Kiosk) -> None:
    watched.call("identify", method="typed", value="P0001")
    watched.call("pin", pin="1234")
    for _ in range(3):
        watched.call("sim_place", item_id="B0005")  # on the hold shelf for another patron
        watched.event("item", item_id="B0005", outcome="ils_refused")
        watched.call("sim_remove", item_id="B0005")
        watched.event("tag_removed", uid=uid_for("B0005").hex().upper())
    assert security(watched, "unknown_item_repeated") == []
