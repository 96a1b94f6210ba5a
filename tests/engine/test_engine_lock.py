"""One lock owns the engine's state, whatever thread comes in; what grows is bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from drivers.sim.field import uid_for
from kiosk.core import RETURN_REPEAT
from kiosk.modes import Mode
from kiosk.pad import PadTag
from tests.engine.harness import Kiosk, final_item, login


def waits_for_the_lock(kiosk: Kiosk, call: Callable[[], object]) -> bool:
    """Whether ``call``, run on another thread, waits while the engine's lock is held."""
    finished = threading.Event()

    def run() -> None:
        call()
        finished.set()

    with kiosk.engine.lock:
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        # Proving that something does NOT happen needs a bounded wait.
        waited = not finished.wait(0.3)
    assert finished.wait(5), "the call never finished after the lock was released"
    return waited


def test_pad_callbacks_results_commands_and_staff_take_the_engine_lock(kiosk: Kiosk) -> None:
    login(kiosk)
    kiosk.call("sim_place", item_id="B0001")
    assert final_item(kiosk, "B0001")["outcome"] == "checked_out"
    tag: PadTag = kiosk.engine.pad.present[uid_for("B0001")]
    result = {"kind": "checkout", "item_id": "B0001", "outcome": "checked_out", "uids": []}
    assert waits_for_the_lock(kiosk, lambda: kiosk.engine._on_tag_added(tag))
    assert waits_for_the_lock(kiosk, lambda: kiosk.engine._on_result(result))
    assert waits_for_the_lock(kiosk, lambda: kiosk.engine.set_language("en"))
    assert waits_for_the_lock(kiosk, kiosk.engine.account)
    assert waits_for_the_lock(kiosk, lambda: kiosk.engine.staff("in_service"))


def test_recent_returns_are_pruned(kiosk: Kiosk) -> None:
    kiosk.engine.mode = Mode.RETURN
    old = time.monotonic() - RETURN_REPEAT - 1
    kiosk.engine.returned.update({i.to_bytes(8, "big"): old for i in range(10_000)})
    kiosk.call("sim_place", item_id="B0010")
    assert final_item(kiosk, "B0010")["outcome"] == "returned"
    # The old entries went when B0010 was added; B0010's own when its return came to rest.
    assert kiosk.engine.returned == {}
