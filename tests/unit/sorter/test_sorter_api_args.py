"""The sorter's API commands take any JSON a client may send: a result, or ValueError or
TypeError (answered ``bad_arguments``), never a failure deep inside the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events import EventBus
from engine.mqtt.commands import EmptiedBin, UnknownBin
from sorter.api import COMMANDS


class FakeSorter:
    """What the commands touch, with every call recorded and typed arguments checked."""

    def __init__(self) -> None:
        self.bus = EventBus()
        self.language = "vi"
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def exceptions(self, limit: int) -> list[dict[str, Any]]:
        assert isinstance(limit, int) and not isinstance(limit, bool)
        self.calls.append(("exceptions", (limit,)))
        return []

    def empty_bin(self, bin_id: str, staff: str | None) -> EmptiedBin:
        assert isinstance(bin_id, str) and (staff is None or isinstance(staff, str))
        self.calls.append(("empty_bin", (bin_id, staff)))
        if bin_id != "1":
            raise UnknownBin(bin_id)
        return EmptiedBin("1", 3, Path("bin-1.csv"), printed=False)

    def receipt(self, drop: str | None, how: str, address: str | None) -> dict[str, Any]:
        # The real one refuses an unknown drop or method with ValueError (tested against
        # the machine in tests/integration/test_sorter_receipt.py).
        assert drop is None or isinstance(drop, str)
        assert isinstance(how, str) and (address is None or isinstance(address, str))
        self.calls.append(("receipt", (drop, how, address)))
        if how not in ("print", "email", "qr"):
            raise ValueError(how)
        return {"method": how, "delivered": True}

    def set_language(self, language: str) -> None:
        assert isinstance(language, str)
        if language not in ("vi", "en"):
            raise ValueError(language)
        self.language = language


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
ARGS = st.dictionaries(
    st.sampled_from(["limit", "bin", "staff", "lang", "drop", "how", "email"])
    | st.text(max_size=5),
    JSON,
)


@settings(max_examples=150, deadline=None)
@given(cmd=st.sampled_from(["exceptions", "empty_bin", "language", "receipt"]), args=ARGS)
def test_any_arguments_give_a_result_or_a_clear_refusal(cmd: str, args: dict[str, Any]) -> None:
    sorter = FakeSorter()
    try:
        result = COMMANDS[cmd](sorter, args)
    except (ValueError, TypeError):
        return
    assert isinstance(result, dict)


def test_empty_bin_answers_and_announces_once() -> None:
    sorter = FakeSorter()
    answer = COMMANDS["empty_bin"](sorter, {"bin": "1", "staff": "Lan"})
    assert answer == {"bin": "1", "items": 3, "manifest": "bin-1.csv", "printed": False}
    (event,) = sorter.bus.history()
    assert (event["event"], event["bin"], event["count"], event["staff"]) == (
        "bin_emptied",
        "1",
        3,
        "Lan",
    )
