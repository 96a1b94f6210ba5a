"""Hostile conveyor URLs: every driver's parser either builds a device or names the problem."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.registry import DeviceUrlError, open_device
from drivers.sim.conveyor import ConveyorMachine
from drivers.sim.field import TagField

KEYS = [
    "speed", "length", "spacing", "intake", "reader", "zone", "diverters", "catch", "end",
    "capacity", "clock", "rate", "field", "belt", "shutter", "at", "full", "active_low",
    "pull_up", "bounce", "invert", "mock", "bins", "unit", "heartbeat", "poll", "timeout", "x",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,3})?(,-?[0-9]{1,6}){0,4}", fullmatch=True),
    st.sampled_from(["", "1", "0", "yes", "nan", "inf", "-1", "1e400", "0x10", "5,5", "1,,2"]),
)
QUERIES = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8)


def _url(scheme_and_host: str, query: dict[str, str]) -> str:
    return scheme_and_host + "?" + "&".join(f"{k}={quote(v, safe=',')}" for k, v in query.items())


def _survives(url: str) -> None:
    try:
        open_device(url)
    except DeviceUrlError:
        pass
    except ValueError as error:  # pragma: no cover - the assertion says what leaked
        raise AssertionError(f"{url}: a bare ValueError, not a DeviceUrlError: {error}") from error


@settings(max_examples=100, deadline=None)
@given(QUERIES)
def test_sim_urls(query: dict[str, str]) -> None:
    _survives(_url("conveyor+sim://fuzz", query))
    ConveyorMachine.forget("fuzz")
    for name in ("fuzz", query.get("field", "")):
        TagField.forget(name)


@settings(max_examples=100, deadline=None)
@given(QUERIES)
def test_gpio_urls(query: dict[str, str]) -> None:
    _survives(_url("gpio+conveyor://", query))


@settings(max_examples=100, deadline=None)
@given(QUERIES, st.sampled_from(["plc:502", "plc", "[::1]:1502", "plc:x", ":502", ""]))
def test_modbus_urls(query: dict[str, str], host: str) -> None:
    _survives(_url(f"modbus+tcp://{host}", query))
