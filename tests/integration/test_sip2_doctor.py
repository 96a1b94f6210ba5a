"""`muontra sip2 doctor` against the simulator: a usable ILS, a troubled one, a bad URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from muontra.cli import main
from tests.integration.sim_helpers import running_sim


def url(port: int, extra: str = "") -> str:
    return f"sip2://kiosk:secret@127.0.0.1:{port}?institution=MUONTRA&location=TT{extra}"


def test_usable_ils_with_checkout_and_checkin(capsys: pytest.CaptureFixture[str]) -> None:
    with running_sim(accounts={"kiosk": "secret"}) as sim:
        code = main(
            [
                "sip2",
                "doctor",
                url(sim.port),
                "--patron",
                "P0001",
                "--pin",
                "1234",
                "--item",
                "B0002",
                "--json",
            ]
        )
    captured = capsys.readouterr()
    assert code == 0
    report = json.loads(captured.out)
    assert report["usable_for_kiosk"] is True
    assert [s["name"] for s in report["steps"]] == [
        "connect and log in",
        "SC status",
        "patron status",
        "patron information",
        "item information",
        "checkout",
        "checkin",
    ]
    assert all(s["ok"] for s in report["steps"])
    dialect = report["dialect"]
    assert dialect["terminators"] == ["CR"]
    assert dialect["checksums"]["bad"] == 0 and dialect["checksums"]["ok"] == 6
    assert dialect["sequence_echoed"] == "6/6"
    assert "AA (patron data)" in dialect["fields"]["12"]
    assert "secret" not in captured.out + captured.err
    assert "a real checkout and checkin" in captured.err  # said before doing it


def test_crlf_ils_without_error_detection_gets_a_recommendation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with running_sim() as sim:
        sim.faults.set("terminator", "crlf")
        code = main(["sip2", "doctor", url(sim.port, "&error_detection=0"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["dialect"]["terminators"] == ["CRLF"]
    assert report["dialect"]["checksums"]["absent"] == 1
    assert "terminator=crlf" in report["recommended"]["url_parameters"]
    assert "error_detection=0" in report["recommended"]["url_parameters"]


def test_ils_down_is_not_usable(capsys: pytest.CaptureFixture[str]) -> None:
    with running_sim() as sim:
        sim.faults.set("down", "1")
        code = main(["sip2", "doctor", url(sim.port, "&retries=1")])
    out = capsys.readouterr().out
    assert code == 1
    assert "✗ connect and log in" in out


def test_wrong_patron_pin_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with running_sim(accounts={"kiosk": "secret"}) as sim:
        code = main(["sip2", "doctor", url(sim.port), "--patron", "P0001", "--pin", "0000"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✗ patron status" in out and "PIN ok=False" in out


def test_bad_url_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sip2", "doctor", "sip2://ils?tsl=1"]) == 2
    assert "unknown parameter 'tsl'" in capsys.readouterr().err


def test_a_pin_asked_for_never_on_the_command_line() -> None:
    """`--pin` alone reads the PIN from standard input; the password comes by password_env."""
    with running_sim(accounts={"kiosk": "secret"}) as sim:
        command = [
            sys.executable, "-m", "muontra", "sip2", "doctor",
            f"sip2://kiosk@127.0.0.1:{sim.port}?institution=MUONTRA&password_env=DOCTOR_TEST_PW",
            "--patron", "P0001", "--pin", "--json",
        ]  # fmt: skip
        env = {**os.environ, "DOCTOR_TEST_PW": "secret"}

        def doctor(pin: str) -> tuple[int, dict[str, Any]]:
            done = subprocess.run(
                command, input=f"{pin}\n", env=env, capture_output=True, text=True,
                timeout=120, check=False,
            )  # fmt: skip
            assert done.returncode in (0, 1), done.stderr
            return done.returncode, json.loads(done.stdout)

        code, report = doctor("1234")
        wrong, refused = doctor("0000")
    assert "1234" not in command and "secret" not in " ".join(command)
    steps = {s["name"]: s for s in report["steps"]}
    assert code == 0 and steps["connect and log in"]["ok"] and steps["patron status"]["ok"]
    assert wrong == 1
    assert not {s["name"]: s for s in refused["steps"]}["patron status"]["ok"]
