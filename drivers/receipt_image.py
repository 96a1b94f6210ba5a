"""Receipt text drawn as a 1-bit raster, for printers that cannot print Vietnamese as text.

Most thermal printers have no Vietnamese code page, and those that do disagree
on combining marks; a picture of the text prints the same on all of them. The
picture is drawn here with Pillow and a TrueType font that covers Vietnamese
(DejaVu Sans from the Debian package ``fonts-dejavu-core`` unless the URL names
another), one line of text per line of the receipt, wrapped at word boundaries
to the paper's width in dots.

Text is drawn in grey levels and then cut to black and white at the midpoint,
without dithering: python-escpos would otherwise dither the anti-aliased edges
into speckles.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.interfaces import DeviceError

if TYPE_CHECKING:
    from PIL import Image, ImageFont

log = logging.getLogger(__name__)

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_PACKAGE = "fonts-dejavu-core"
DEFAULT_FONT_SIZE = 24
"""Pixels per em: about the 24-dot height of a printer's own font A, so image
receipts read like text ones (48 characters on 80 mm paper, 32 on 58 mm)."""

MARGIN = 4
"""Dots left blank on each side: the print head's outermost dots fade on some models."""

LINE_GAP = 4
"""Dots between one line's lowest descender and the next line's highest mark."""

_TALLEST = "ẴẪỄỖỮỠẲỂỔỞĐÁẤ"
"""Capitals with stacked diacritics: the line height must leave room above them."""


class FontMissing(DeviceError):
    """The TrueType font for image receipts is not installed."""


def load_font(path: Path = DEFAULT_FONT, size: int = DEFAULT_FONT_SIZE) -> ImageFont.FreeTypeFont:
    """The font, or FontMissing naming the Debian package that provides the default one."""
    # Pillow on first use: a printer that has not printed yet costs no memory for it.
    from PIL import ImageFont

    try:
        return ImageFont.truetype(str(path), size)
    except OSError as error:
        hint = (
            f"install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})"
            if path == DEFAULT_FONT
            else "check the printer URL's font= parameter"
        )
        raise FontMissing(
            f"cannot load the receipt font {path} ({error}): {hint}; "
            "Vietnamese receipts are printed as images drawn with it"
        ) from None


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> Iterator[str]:
    """``text`` cut into pieces no wider than ``width``: at spaces, or inside a word too long."""
    if not text.strip():
        yield ""
        return
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            yield line
        line = ""
        for char in word:
            if line and font.getlength(line + char) > width:
                yield line
                line = ""
            line += char
    if line:
        yield line


def render_receipt(
    lines: Sequence[str], width: int, font: ImageFont.FreeTypeFont | None = None
) -> Image.Image:
    """A black-on-white mode "1" image ``width`` dots wide with every line of the receipt."""
    from PIL import Image, ImageDraw

    font = font or load_font()
    usable = width - 2 * MARGIN
    if usable <= 0:
        raise ValueError(f"a receipt {width} dots wide has no room for text")
    ascent, descent = font.getmetrics()
    top = font.getbbox(_TALLEST, anchor="ls")[1]
    above = max(ascent, math.ceil(-top))
    pitch = above + descent + LINE_GAP
    wrapped = [piece for line in lines for piece in wrap(line, font, usable)]
    height = max(1, pitch * len(wrapped) + LINE_GAP)
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    for index, piece in enumerate(wrapped):
        baseline = LINE_GAP + index * pitch + above
        draw.text((MARGIN, baseline), piece, font=font, fill=0, anchor="ls")
    log.debug("receipt drawn: %d lines, %dx%d dots", len(wrapped), width, height)
    return canvas.convert("1", dither=Image.Dither.NONE)
