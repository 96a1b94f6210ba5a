"""EscposPrinter end to end on escpos+dummy and escpos+file: the exact ESC/POS bytes that leave.

Vietnamese receipts are checked by decoding the raster the printer would get
back into a picture (saved as PNG next to the test's files, to look at).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from drivers import receipt_image
from drivers.interfaces import DeviceState, DeviceUnavailable, ReceiptPrinter
from drivers.printer import EscposPrinter, clean_lines
from drivers.receipt_image import FontMissing, load_font, render_receipt, wrap
from drivers.registry import DeviceUrlError, open_device

INIT = b"\x1b@"
CUT = b"\x1bd\x06\x1dV\x00"
RASTER = b"\x1dv0"
VIETNAMESE = ["Hạn trả: 08/12/2026", "Sách: Truyện Kiều", "Cảm ơn bạn!"]


def rasters(job: bytes) -> list[Image.Image]:
    """Every GS v 0 image in ``job``, decoded back to black-on-white pictures."""
    images, at = [], 0
    while (at := job.find(RASTER, at)) >= 0:
        width_bytes = int.from_bytes(job[at + 4 : at + 6], "little")
        height = int.from_bytes(job[at + 6 : at + 8], "little")
        data = job[at + 8 : at + 8 + width_bytes * height]
        assert len(data) == width_bytes * height, "raster data cut short"
        # In GS v 0 a set bit is a black dot; in Pillow's mode "1" it is white.
        images.append(ImageChops.invert(Image.frombytes("1", (width_bytes * 8, height), data)))
        at += 8 + len(data)
    return images


def stacked(images: list[Image.Image]) -> Image.Image:
    whole = Image.new("1", (images[0].width, sum(i.height for i in images)), 1)
    top = 0
    for image in images:
        whole.paste(image, (0, top))
        top += image.height
    return whole


def printer(url: str) -> EscposPrinter:
    device = open_device(url)
    assert isinstance(device, EscposPrinter)
    assert isinstance(device, ReceiptPrinter)
    return device


def test_ascii_receipt_prints_as_text() -> None:
    device = printer("escpos+dummy://")
    device.print_receipt(["Thu vien Ha Noi", "Han tra: 08/12/2026"])
    out = device.output
    assert out.startswith(INIT + b"\x1bt\x00")  # reset, then code page CP437
    assert b"Thu vien Ha Noi\nHan tra: 08/12/2026\n" in out
    assert out.endswith(CUT)
    assert RASTER not in out
    assert device.state is DeviceState.READY


@pytest.mark.parametrize("width", [384, 576])
def test_vietnamese_receipt_is_a_raster_image_of_the_paper_width(
    width: int, tmp_path: Path
) -> None:
    device = printer(f"escpos+dummy://?width={width}")
    device.print_receipt(VIETNAMESE)
    out = device.output
    assert out.startswith(INIT + RASTER + b"\x00")
    assert out[6:8] == (width // 8).to_bytes(2, "little")
    assert out.endswith(CUT)
    assert b"Truy" not in out and b"\x1bt" not in out  # nothing went out as text
    picture = stacked(rasters(out))
    picture.save(tmp_path / f"receipt-{width}.png")
    assert picture.size[0] == width
    expected = render_receipt(VIETNAMESE, width)
    assert picture.size == expected.size
    assert ImageChops.difference(picture.convert("L"), expected.convert("L")).getbbox() is None
    # Ink in each third: one line of text each.
    third = picture.height // 3
    for line in range(3):
        band = picture.crop((0, line * third, width, (line + 1) * third))
        assert band.getextrema() == (0, 255)


def test_default_printer_width_is_80_mm() -> None:
    assert printer("escpos+dummy://").width == 576
    assert printer("escpos+dummy://?profile=POS-5890").width == 384  # the profile's paper
    assert printer("escpos+dummy://?profile=POS-5890&width=360").width == 360


def test_long_lines_wrap_inside_the_paper() -> None:
    font = load_font()
    title = "Truyện Kiều (Đoạn trường tân thanh) của Nguyễn Du, bản chú giải đầy đủ nhất"
    pieces = list(wrap(title, font, 384 - 2 * receipt_image.MARGIN))
    assert len(pieces) > 1
    assert " ".join(pieces) == title
    assert all(font.getlength(piece) <= 384 - 2 * receipt_image.MARGIN for piece in pieces)
    broken = list(wrap("x" * 200, font, 100))
    assert "".join(broken) == "x" * 200
    assert all(font.getlength(piece) <= 100 for piece in broken)


def test_profile_with_tcvn3_prints_vietnamese_as_text() -> None:
    device = printer("escpos+dummy://?profile=TM-T88V")
    out = device.compose(["Hạn trả: 08/12/2026", "Cảm ơn bạn!"])
    assert RASTER not in out
    # TCVN-3-1 is slot 30: ạ is 0xB9, ả 0xB6, ơ 0xAC in it.
    assert b"\x1bt\x1e\xb9n tr\xb6: 08/12/2026\nC\xb6m \xacn b\xb9n!\n" in out
    # Decomposed input (as some ILS records are) is composed first: same bytes.
    decomposed = ["Ha\u0323n tra\u0309: 08/12/2026", "Ca\u0309m o\u031bn ba\u0323n!"]
    assert device.compose(decomposed) == out


def test_text_image_forces_an_image() -> None:
    out = printer("escpos+dummy://?profile=TM-T88V&text=image").compose(["Hello"])
    assert RASTER in out and b"Hello" not in out


def test_combining_marks_never_go_out_as_text() -> None:
    # CP1258 (in TM-T88V) holds U+0301, but printers disagree on overlaying it.
    out = printer("escpos+dummy://?profile=TM-T88V").compose(["x\u0301"])
    assert RASTER in out


def test_control_characters_never_reach_the_printer() -> None:
    assert clean_lines(["Tên\x1bi sách\r\nhai\tba"]) == ["Têni sách", "hai ba"]
    out = printer("escpos+dummy://").compose(["Title\x1bi\x1dV\x00"])
    assert b"Titlei\n" in out
    assert out.count(b"\x1dV") == 1


def test_qr_code_as_image_on_an_unknown_printer() -> None:
    out = printer("escpos+dummy://").compose(["Thank you"], qr="https://lib.example/r/1")
    assert b"Thank you\n" in out
    assert b"\x1d(k" not in out
    (code,) = rasters(out)
    assert code.width == 576 and code.height > 100
    assert out.endswith(CUT)


def test_native_qr_code_when_the_profile_has_it() -> None:
    out = printer("escpos+dummy://?profile=TM-T88V").compose(["Cảm ơn"], qr="MT-42")
    assert b"\x1d(k\x08\x001P0MT-42" in out
    assert b"\x1d(k\x03\x001Q0" in out  # print the stored symbol
    assert out.endswith(CUT)


def test_dummy_unplugged_and_back() -> None:
    device = printer("escpos+dummy://")
    device.unplugged = True
    with pytest.raises(DeviceUnavailable, match="unplugged"):
        device.print_receipt(["one"])
    assert device.state is DeviceState.UNAVAILABLE
    device.unplugged = False
    device.print_receipt(["two"])
    assert device.state is DeviceState.READY
    assert b"two\n" in device.output and b"one" not in device.output


def test_file_printer_appends_each_receipt(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    target.write_bytes(b"")
    device = printer(f"escpos+file://{target}")
    device.print_receipt(["one"])
    device.print_receipt(VIETNAMESE)
    device.close()
    assert target.read_bytes() == device.compose(["one"]) + device.compose(VIETNAMESE)
    assert device.state is DeviceState.CLOSED


def test_missing_file_is_unavailable_until_it_appears(tmp_path: Path) -> None:
    target = tmp_path / "usb" / "lp0"
    device = printer(f"escpos+file://{target}")
    with pytest.raises(DeviceUnavailable, match=r"receipt printer .*lp0.*No such file"):
        device.print_receipt(["one"])
    assert device.state is DeviceState.UNAVAILABLE
    assert not target.exists()  # never created: a missing printer stays missing
    target.parent.mkdir()
    target.write_bytes(b"")
    device.print_receipt(["two"])
    assert device.state is DeviceState.READY
    assert target.read_bytes() == device.compose(["two"])


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_write_failure_marks_the_printer_unavailable() -> None:
    device = printer("escpos+file:///dev/full")
    device.open()
    assert device.state is DeviceState.READY
    with pytest.raises(DeviceUnavailable, match="cannot write to /dev/full"):
        device.print_receipt(["one"])
    assert device.state is DeviceState.UNAVAILABLE


def test_network_printer_not_answering() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    device = printer(f"escpos+net://127.0.0.1:{port}?timeout=2")
    with pytest.raises(DeviceUnavailable, match=f"network printer 127.0.0.1:{port}"):
        device.print_receipt(["one"])
    assert device.state is DeviceState.UNAVAILABLE


def test_network_printer_receives_the_receipt() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        device = printer(f"escpos+net://127.0.0.1:{server.getsockname()[1]}?timeout=5")
        device.open()
        peer, _ = server.accept()
        with peer:
            device.print_receipt(["one"])
            device.close()
            received = b""
            while chunk := peer.recv(4096):
                received += chunk
    assert received == device.compose(["one"])


def test_usb_printer_without_pyusb_says_what_to_install() -> None:
    pytest.importorskip("escpos")
    try:
        import usb.core  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pyusb is installed")
    device = printer("escpos+usb://04b8:0202")
    with pytest.raises(DeviceUnavailable, match="pyusb"):
        device.print_receipt(["one"])


def test_missing_font_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Pillow also looks for a missing font's file name in the system font folders.
    missing = tmp_path / "NoSuchFont.ttf"
    monkeypatch.setattr(receipt_image, "DEFAULT_FONT", missing)
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        load_font(missing)
    device = printer(f"escpos+dummy://?font={tmp_path}/other.ttf")
    with pytest.raises(FontMissing, match="font="):
        device.print_receipt(VIETNAMESE)
    assert device.output == b""


@pytest.mark.parametrize(
    "url",
    [
        "escpos+dummy://?text=bold",
        "escpos+dummy://?profile=NoSuchPrinter",
        "escpos+dummy://?width=abc",
        "escpos+dummy://?width=4",
        "escpos+usb://epson",
        "escpos+net://",
        "escpos+file://",
    ],
)
def test_bad_urls_are_refused_when_built(url: str) -> None:
    with pytest.raises(DeviceUrlError):
        open_device(url)
