"""`muontra kiosk` runs the tamper guard: its config edited and left is reported, on its bus
(and so to the fleet) as ``config_changed``, naming no setting."""

from __future__ import annotations

import time
from pathlib import Path

from tests.engine.harness import KioskProcess, ils_simulator, write_config

CHECK_EVERY = 0.5

TAMPER = f"""
[tamper]
config_check_every = {CHECK_EVERY}
check_every = 0.2
"""


def test_an_edited_kiosk_config_left_unreloaded_is_reported(tmp_path: Path) -> None:
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        config = write_config(tmp_path, sim.port, extra=TAMPER)
        engine = KioskProcess(config, tmp_path / "kiosk.sock")
        try:
            engine.client.subscribe()
            config.write_text(config.read_text() + '\n# "kiosk-secret-edit"\n')
            deadline = time.monotonic() + 20
            found = None
            while found is None and time.monotonic() < deadline:
                event = engine.client.next_event(deadline - time.monotonic())
                if event is not None and event["event"] == "security":
                    found = event
            assert found is not None, "no security event within 20 s of the edit"
            assert found["threat"] == "config_changed" and found["detail"] == "changed"
            assert "kiosk-secret-edit" not in str(found)
        finally:
            engine.stop()
