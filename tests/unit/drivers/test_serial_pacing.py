"""The simulated serial readers answer when real ones would: line time plus air time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drivers.feig_reader import FeigReader
from drivers.sim.devices import FeigFirmware, ThreeMFirmware
from drivers.sim.field import TagField
from drivers.sim.reader import item_tag
from drivers.sim.serial_peer import SerialPeer
from drivers.sim.timing import AirTiming, SerialLine
from protocols.readers import feig_iso, threem
from protocols.readers.feig import FeigParser

AIR = AirTiming()


@pytest.fixture
def field() -> TagField:
    field = TagField()
    for item in ("B0001", "B0002", "B0003"):
        field.place(item_tag(item))
    return field


def test_serial_line_counts_start_parity_and_stop_bits() -> None:
    assert SerialLine(38400, parity=True).seconds(3) == pytest.approx(33 / 38400)
    assert SerialLine(19200).seconds(20) == pytest.approx(200 / 19200)


def test_feig_firmware_air_time_follows_the_command(field: TagField) -> None:
    firmware = FeigFirmware(field, AIR)
    uid = next(iter(field.tags))

    def air(request: feig_iso.FeigFrame) -> float:
        return firmware.air_time(request, firmware.answer(request))

    assert air(feig_iso.inventory()) == pytest.approx(AIR.inventory(3))
    assert air(feig_iso.system_info(uid)) == pytest.approx(AIR.addressed())
    assert air(feig_iso.read_blocks(uid, 0, 8)) == pytest.approx(AIR.read(8))
    assert air(feig_iso.write_blocks(uid, 0, bytes(8))) == pytest.approx(2 * AIR.write(1))
    assert air(feig_iso.write_afi(uid, 0xC2)) == pytest.approx(AIR.afi())
    assert air(feig_iso.nxp(feig_iso.RESET_EAS, uid)) == pytest.approx(AIR.eas())
    assert air(feig_iso.nxp(feig_iso.EAS_ALARM, None)) == pytest.approx(AIR.addressed())
    field.clear()
    assert air(feig_iso.inventory()) == pytest.approx(AIR.inventory(0))


def test_threem_firmware_air_time_follows_the_command(field: TagField) -> None:
    firmware = ThreeMFirmware(field, AIR)
    uid = next(iter(field.tags))

    def air(request: threem.ThreeMFrame) -> float:
        return firmware.air_time(request, firmware.answer(request))

    assert air(threem.inventory()) == pytest.approx(AIR.inventory(3))
    assert air(threem.get_afi(uid)) == pytest.approx(AIR.addressed())
    assert air(threem.read_blocks(uid, 0, 8)) == pytest.approx(AIR.read(8))
    assert air(threem.write_blocks(uid, 0, bytes(12))) == pytest.approx(3 * AIR.write(1))
    assert air(threem.write_afi(uid, 0xC2)) == pytest.approx(AIR.afi())
    assert air(threem.eas_control(uid, False)) == pytest.approx(AIR.eas())
    assert air(threem.version()) == 0.0


def test_instant_firmware_spends_no_time(field: TagField) -> None:
    firmware = FeigFirmware(field)
    request = feig_iso.inventory()
    assert firmware.air_time(request, firmware.answer(request)) == 0.0


def test_paced_peer_answers_after_line_and_air_time(tmp_path: Path, field: TagField) -> None:
    line = SerialLine(38400, parity=True)
    peer = SerialPeer(
        tmp_path / "feig", field, FeigParser, FeigFirmware(field, AIR), line=line
    ).start()
    reader = FeigReader(f"feig+serial://{peer.link}?baud=38400")
    uid = next(iter(field.tags))
    try:
        reader.open()
        peer.busy_seconds = 0.0
        start = time.perf_counter()
        info = reader.system_info(uid)
        elapsed = time.perf_counter() - start
    finally:
        reader.close()
        peer.stop()
    request = feig_iso.system_info(uid)
    answer = FeigFirmware(field).answer(request)
    expected = (
        line.seconds(len(request.encode())) + AIR.addressed() + line.seconds(len(answer.encode()))
    )
    assert info.afi == 0x07
    assert peer.busy_seconds == pytest.approx(expected)
    assert elapsed >= expected  # answered no earlier than a real reader could
