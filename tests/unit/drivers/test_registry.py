"""Device URLs: parsing, built-in schemes, and schemes added by other packages."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from drivers import registry
from drivers.registry import DeviceUrlError, open_device, parse_url
from drivers.sim.reader import SimReader


class PluginReader:
    def __init__(self, url: registry.DeviceUrl) -> None:
        self.url = url.raw
        self.target = url.target


def test_parse_urls_with_a_digit_first_scheme_and_parameters() -> None:
    url = parse_url("3m+serial:///dev/serial/by-id/usb-3M_810?baud=19200&timeout=0.5")
    assert (url.scheme, url.target, url.integer("baud", 0), url.number("timeout", 1)) == (
        "3m+serial",
        "/dev/serial/by-id/usb-3M_810",
        19200,
        0.5,
    )
    assert parse_url("pcsc://ACS%20ACR1552").target == "ACS ACR1552"
    assert parse_url("sim://pad?timing=0&x=yes").flag("x") is True


@pytest.mark.parametrize("bad", ["/dev/ttyUSB0", "pad", "://x", "bad scheme://x"])
def test_not_a_device_url(bad: str) -> None:
    with pytest.raises(DeviceUrlError):
        parse_url(bad)


def test_bad_parameter_names_the_key() -> None:
    with pytest.raises(DeviceUrlError, match="baud"):
        parse_url("feig+serial:///dev/x?baud=fast").integer("baud", 38400)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(DeviceUrlError, match="feig\\+serial"):
        open_device("rfid9000://x")


def test_builtin_scheme_opens_its_driver() -> None:
    assert isinstance(open_device("sim://registry-test?timing=0"), SimReader)


def test_entry_point_group_adds_a_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = EntryPoint(
        name="acme", value=f"{__name__}:PluginReader", group=registry.ENTRY_POINT_GROUP
    )

    def entry_points(group: str) -> list[EntryPoint]:
        return [plugin] if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", entry_points)
    assert "acme" in registry.schemes()
    device = open_device("acme://antenna-2")
    assert isinstance(device, PluginReader) and device.target == "antenna-2"
