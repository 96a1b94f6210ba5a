"""Sizes and colours of the screen, worked out from the display and the patron's needs.

Touch targets are at least 15 mm wide whatever the panel's density (a finger
does not shrink on a sharper screen), and never under 90 px; text scales with
the window so portrait and landscape panels both fill up. Large-text and
high-contrast modes only change these numbers, never the screens' layout code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

TOUCH_MM = 15.0
TOUCH_MIN_PX = 90
MM_PER_INCH = 25.4

NORMAL = {
    "background": "#f4f1ea",
    "panel": "#ffffff",
    "text": "#1c2430",
    "muted": "#4a5563",
    "accent": "#0b5fa5",
    "accentText": "#ffffff",
    "ok": "#1d7a36",
    "failed": "#b3261e",
    "attention": "#9a5b00",
    "border": "#c9c3b6",
}
HIGH_CONTRAST = {
    "background": "#000000",
    "panel": "#000000",
    "text": "#ffffff",
    "muted": "#ffffff",
    "accent": "#ffd400",
    "accentText": "#000000",
    "ok": "#7dff8a",
    "failed": "#ff8a80",
    "attention": "#ffd400",
    "border": "#ffffff",
}


def touch_pixels(dots_per_inch: float) -> int:
    """The side of a 15 mm touch target at this density, at least 90 px."""
    return max(TOUCH_MIN_PX, round(TOUCH_MM * dots_per_inch / MM_PER_INCH))


@dataclass(frozen=True, slots=True)
class Theme:
    touch: int
    font: int
    title: int
    small: int
    spacing: int
    border: int
    colors: dict[str, str]


def theme_for(
    width: float, height: float, dots_per_inch: float, *, large_text: bool, high_contrast: bool
) -> Theme:
    short_side = max(1.0, min(width, height))
    scale = 1.35 if large_text else 1.0
    font = round(max(18.0, min(56.0, short_side / 30.0)) * scale)
    touch = max(touch_pixels(dots_per_inch), round(font * 2.4))
    return Theme(
        touch=touch,
        font=font,
        title=round(font * 1.6),
        small=max(16, round(font * 0.8)),
        spacing=max(8, round(font * 0.6)),
        border=3 if high_contrast else 1,
        colors=dict(HIGH_CONTRAST if high_contrast else NORMAL),
    )


def as_dict(theme: Theme) -> dict[str, object]:
    return asdict(theme)
