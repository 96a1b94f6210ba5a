"""Self-checkout through the local API: the engine on simulators, the ILS simulator over TCP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drivers.sim.field import uid_for
from ilssim.server import SimServerThread
from ilssim.store import Store
from kiosk.api import CommandFailed
from tests.engine.harness import Kiosk, write_config


def login(kiosk: Kiosk, patron: str = "P0001", pin: str = "1234") -> dict[str, object]:
    assert kiosk.call("identify", method="typed", value=patron) == {
        "need_pin": True,
        "patron_ref": kiosk.event("patron_identified")["patron_ref"],
    }
    return kiosk.call("pin", pin=pin)  # type: ignore[no-any-return]


def test_stack_checkout_releases_security_and_reports_due_dates(kiosk: Kiosk) -> None:
    session = login(kiosk)
    assert session["name"] == "Hương" and session["screen_messages"] == ["Xin chào!"]
    assert "patron_id" not in str(session) and "P0001" not in str(session)
    for item in ("B0001", "B0002", "B0003"):
        kiosk.call("sim_place", item_id=item)
    outcomes = {kiosk.event("item", outcome="checked_out")["item_id"] for _ in range(3)}
    assert outcomes == {"B0001", "B0002", "B0003"}
    tags = {t["uid"]: t for t in kiosk.call("sim_tags")["tags"]}
    assert all(t["afi"] == 0xC2 for t in tags.values())
    summary = kiosk.call("done")
    assert summary["checked_out"] == 3 and summary["failed"] == 0
    assert all(i["due_date"] for i in summary["items"])
    states = {t["item_id"]: t["state"] for t in kiosk.call("journal")["transactions"]}
    assert states == {"B0001": "done", "B0002": "done", "B0003": "done"}


def test_wrong_pin_is_limited(kiosk: Kiosk) -> None:
    kiosk.call("identify", method="typed", value="P0001")
    for _ in range(2):
        with pytest.raises(CommandFailed) as wrong:
            kiosk.call("pin", pin="0000")
        assert wrong.value.error["code"] == "wrong_pin"
    with pytest.raises(CommandFailed) as locked:
        kiosk.call("pin", pin="0000")
    assert locked.value.error["code"] == "pin_locked"
    with pytest.raises(CommandFailed) as still:
        kiosk.call("identify", method="typed", value="P0001")
    assert still.value.error["code"] == "pin_locked"


def test_receipt_printed_and_statistics_counted(kiosk: Kiosk) -> None:
    login(kiosk)
    kiosk.call("sim_place", item_id="B0001")
    kiosk.event("item", outcome="checked_out", item_id="B0001")
    kiosk.call("done")
    printed = kiosk.call("receipt", method="print")
    assert printed == {"method": "print", "delivered": True}
    kiosk.event("session_ended", reason="done")
    hours = kiosk.call("statistics")["hours"]
    assert [(h["kind"], h["count"]) for h in hours] == [("checkout", 1)]


def test_language_switch_and_account(kiosk: Kiosk) -> None:
    login(kiosk)
    assert kiosk.call("language", language="en") == {"language": "en"}
    account = kiosk.call("account")
    assert account["language"] == "en" and set(account["loans"]) == {"B0010", "B0013"}
    details = {d["item_id"]: d for d in account["loan_details"]}
    assert details["B0010"]["title"] == "Vợ nhặt" and details["B0013"]["due_date"]
    with pytest.raises(CommandFailed) as bad:
        kiosk.call("language", language="fr")
    assert bad.value.error["code"] == "unknown_language"


def test_simulator_panel_takes_the_ils_down_and_back(
    kiosk: Kiosk, ils: tuple[SimServerThread, Store]
) -> None:
    with pytest.raises(CommandFailed):
        kiosk.call("sim_ils", down=True)  # this engine's ILS is not its own simulator
    kiosk.engine.ils_simulator = ils[0]
    assert kiosk.call("sim_ils", down=True) == {"down": True, "latency": 0.0}
    assert ils[0].faults.down is True
    assert kiosk.call("sim_ils", down=False)["down"] is False


def test_maintenance_leaves_transactions_in_flight_to_their_workers(
    tmp_path: Path, ils: tuple[SimServerThread, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The maintenance loop finishes what an earlier run left open, never what this run's
    workers hold: a checkout still at the ILS is not 'started and abandoned'."""
    from kiosk.core import Engine

    monkeypatch.setattr(Engine, "maintenance_every", 0.01)
    ils[0].faults.latency = 0.05
    k = Kiosk(write_config(tmp_path, ils[0].port))
    try:
        login(k)
        items = ("B0001", "B0002", "B0003", "B0004")
        for item in items:
            k.call("sim_place", item_id=item)
        done = {k.event("item", outcome="checked_out")["item_id"] for _ in items}
        assert done == set(items)
        assert not [e for e in k.call("history")["events"] if e["event"] == "reconciled"]
        journal = k.engine.journal
        steps = {t.item_id: tuple(journal.steps(t.id)) for t in journal.all()}
        assert steps == dict.fromkeys(items, ("started", "securing", "done"))
    finally:
        k.close()


class FailingIls:
    """The engine's ILS client, with one checkout failing in a way no code expects:
    before the request leaves, or after the ILS has made the loan."""

    def __init__(self, real: Any, *, after_loan: bool) -> None:
        self.real = real
        self.after_loan = after_loan
        self.failed = False

    def checkout(self, *args: Any, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            if self.after_loan:
                self.real.checkout(*args, **kwargs)
            raise RuntimeError("a bug in the middle of a checkout")
        return self.real.checkout(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize("after_loan", [False, True], ids=["before-ils", "after-loan"])
def test_a_worker_error_gives_an_outcome_and_is_settled_from_ils_and_tag(
    tmp_path: Path,
    ils: tuple[SimServerThread, Store],
    monkeypatch: pytest.MonkeyPatch,
    after_loan: bool,
) -> None:
    from kiosk.core import Engine

    monkeypatch.setattr(Engine, "maintenance_every", 0.05)
    k = Kiosk(write_config(tmp_path, ils[0].port))
    try:
        k.engine.circulation.ils = FailingIls(k.engine.circulation.ils, after_loan=after_loan)
        login(k)
        k.call("sim_place", item_id="B0001")
        failed = k.event("item", outcome="being_checked", item_id="B0001")
        assert "staff" in failed["message"]["en"]
        reconciled = k.event("reconciled", item_id="B0001")
        assert reconciled["from"] == "started"
        assert reconciled["to"] == ("done" if after_loan else "cancelled")
        tags = {t["uid"].lower(): t["afi"] for t in k.call("sim_tags")["tags"]}
        afi = tags[uid_for("B0001").hex()]
        assert afi == (0xC2 if after_loan else 0x07)
        assert k.engine.circulation.abandoned_now() == set()
    finally:
        k.close()
