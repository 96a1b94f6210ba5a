"""sip2+sim:// is found through the muontra.ils entry point, never by importing the simulator."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.ils.embedded import EmbeddedIls
from engine.ils.schemes import IlsSchemeError, schemes, starter_for
from engine.ils.url import parse_ils_url


def test_the_simulator_registers_its_scheme() -> None:
    assert "sip2+sim" in schemes()


def test_an_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(IlsSchemeError, match=r"'sip2\+nope'.*sip2\+sim"):
        starter_for("sip2+nope")


def test_an_unknown_scheme_opens_nothing(tmp_path: Path) -> None:
    with pytest.raises(IlsSchemeError):
        EmbeddedIls(tmp_path, scheme="sip2+nope")
    assert list(tmp_path.iterdir()) == []


def test_the_embedded_ils_serves_sip2_on_loopback(tmp_path: Path) -> None:
    embedded = EmbeddedIls(tmp_path)
    try:
        settings = embedded.settings(parse_ils_url("sip2+sim://"))
        assert (settings.scheme, settings.host, settings.port) == (
            "sip2",
            "127.0.0.1",
            embedded.thread.port,
        )
        assert embedded.thread.port > 0
        assert (tmp_path / "ils-sim.sqlite").exists()
    finally:
        embedded.stop()


def test_importing_the_engine_link_does_not_import_the_simulator() -> None:
    # The registry resolves lazily: a gate or kiosk on a real ILS never loads ilssim.
    import subprocess

    code = (
        "import sys, engine.ils.client, engine.ils.embedded, kiosk.core; "
        "print(any(m == 'ilssim' or m.startswith('ilssim.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
