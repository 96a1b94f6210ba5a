"""Interoperability with Evergreen's standalone SIPServer, when its source is at hand.

CI cannot fetch it, so this runs only where SIPSERVER_SRC points to a checkout
(see docs/interop-evergreen.md); the captured transcripts are tested everywhere
in tests/unit/protocols/test_evergreen_transcripts.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "interop" / "evergreen-sipserver.sh"


@pytest.mark.interop
@pytest.mark.skipif(
    not (Path(os.environ.get("SIPSERVER_SRC", "/nonexistent")) / "SIPServer.pm").exists(),
    reason="SIPSERVER_SRC does not point to a checkout of Evergreen's SIPServer",
)
def test_doctor_against_evergreen_sipserver() -> None:
    done = subprocess.run(
        ["bash", str(SCRIPT), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MUONTRA": str(Path(sys.executable).parent / "muontra")},
    )
    report = json.loads(done.stdout)
    steps = {step["name"]: step["ok"] for step in report["steps"]}
    # What works with the bundled test ILS, and what its missing methods break.
    assert steps["connect and log in"] and steps["SC status"] and steps["patron status"]
    assert steps["checkout"]
    assert not steps["patron information"] and not steps["item information"]
    assert report["dialect"]["checksums"]["ok"] == 0 and report["dialect"]["checksums"]["bad"] > 0
    assert "verify_checksum=0" in report["recommended"]["url_parameters"]
    assert done.returncode == 1
