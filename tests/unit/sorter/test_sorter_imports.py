"""What the return machine holds in memory at start (bench/sorter.py's goal: under 80 MB).

The MQTT link (paho), the PLC simulator's Modbus server (pymodbus) and the ESC/POS
printer library are loaded only when the machine has them to use: with ``[mqtt]``,
behind a PLC, when a slip or a receipt is printed. Checked in a fresh interpreter,
since this test process has loaded everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("paho", "pymodbus", "escpos", "aiosmtpd")


def loaded_after(*modules: str) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        f"heavy = {list(HEAVY)!r}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('engine.mqtt'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    heavy, mqtt = (json.loads(line) for line in done.stdout.splitlines())
    return [*heavy, *mqtt]


def test_the_sorter_daemon_starts_without_mqtt_modbus_or_printer_libraries() -> None:
    assert loaded_after("sorter.cli", "sorter.service", "sorter.api", "sorter.machine") == []


def test_the_scenario_and_bench_sorter_process_starts_without_them_too() -> None:
    assert loaded_after("scenario.sorter_child") == []
