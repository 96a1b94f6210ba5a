"""The engine on a serial pad: FEIG and 3M drivers over a real pty, the reader simulated
at the far end and paced like the real one (its baud rate and the air time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.sim.devices import FeigFirmware, ThreeMFirmware
from drivers.sim.field import TagField
from drivers.sim.reader import item_tag
from drivers.sim.serial_peer import SerialPeer
from drivers.sim.timing import AirTiming, SerialLine
from engine.ils.client import IlsClient
from ilssim.server import SimServerThread
from ilssim.store import Store
from protocols.readers.feig import FeigParser
from protocols.readers.threem import ThreeMParser
from protocols.sip2.codes import CirculationStatus
from tests.engine.harness import Kiosk, write_config

READERS = {
    # Even parity, as FEIG readers ship, cannot be set twice on one pty (Linux: EINVAL);
    # the engine opens the port once here, so the real 8E1 framing is kept.
    "feig": ("feig+serial://{link}?baud=38400", FeigParser, FeigFirmware, SerialLine(38400, True)),
    "3m": ("3m+serial://{link}?baud=19200", ThreeMParser, ThreeMFirmware, SerialLine(19200)),
}
ITEMS = ("B0001", "B0002", "B0003")


@pytest.fixture(params=sorted(READERS))
def pad(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TagField, str]]:
    url, parser, firmware, line = READERS[request.param]
    field = TagField()
    peer = SerialPeer(
        tmp_path / request.param, field, parser, firmware(field, AirTiming()), line=line
    ).start()
    yield field, url.format(link=peer.link)
    peer.stop()


@pytest.fixture
def kiosk(
    tmp_path: Path, ils: tuple[SimServerThread, Store], pad: tuple[TagField, str]
) -> Iterator[Kiosk]:
    config = write_config(tmp_path, ils[0].port)
    text = config.read_text()
    start = text.index('pad = "')
    end = text.index("\n", start)
    config.write_text(text[:start] + f'pad = "{pad[1]}"' + text[end:])
    k = Kiosk(config)
    yield k
    k.close()


def charged(port: int, item: str) -> bool:
    with IlsClient(f"sip2://127.0.0.1:{port}") as client:
        status = str(client.item_information(item).circulation_status)
    return status == CirculationStatus.CHARGED


def test_stack_laid_before_login_goes_out_through_the_serial_reader(
    kiosk: Kiosk, pad: tuple[TagField, str], ils: tuple[SimServerThread, Store]
) -> None:
    field = pad[0]
    tags = {item: field.place(item_tag(item)) for item in ITEMS}
    waiting = {kiosk.event("item", outcome="item_waiting")["item_id"] for _ in ITEMS}
    assert waiting == set(ITEMS)
    kiosk.call("identify", method="typed", value="P0001")
    kiosk.call("pin", pin="1234")
    done = {kiosk.event("item", outcome="checked_out")["item_id"] for _ in ITEMS}
    assert done == set(ITEMS)
    assert {item: field.tag(tag.uid).afi for item, tag in tags.items()} == dict.fromkeys(
        ITEMS, 0xC2
    )
    assert all(charged(ils[0].port, item) for item in ITEMS)


def test_tag_lifted_during_its_write_is_flagged_then_finished(
    kiosk: Kiosk, pad: tuple[TagField, str], ils: tuple[SimServerThread, Store]
) -> None:
    field = pad[0]
    kiosk.call("identify", method="typed", value="P0001")
    kiosk.call("pin", pin="1234")
    tag = item_tag("B0004")
    field.faults.leave_during_write.add(tag.uid)
    field.place(tag)
    flagged = kiosk.event("item", outcome="security_failed", item_id="B0004")
    assert flagged["flagged"] is True
    assert charged(ils[0].port, "B0004")  # the loan stands; the tag is what is missing
    field.bring_back(tag.uid)
    kiosk.event("item", outcome="checked_out", item_id="B0004")
    assert field.tag(tag.uid).afi == 0xC2
