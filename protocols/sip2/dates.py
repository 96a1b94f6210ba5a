"""SIP2 dates: ``YYYYMMDDZZZZHHMMSS``, read leniently, written exactly.

The fixed parts carry 18-character dates where ZZZZ is a time zone or four
blanks. Real servers also send ``YYYY-MM-DD HH:MM:SS``, blank dates and local
times, so parsing never fails: a date that cannot be read is ``None`` and the
raw text stays in the message.
"""

from __future__ import annotations

from datetime import datetime

BLANK_DATE = " " * 18


def format_date(when: datetime | None, zone: str = "    ") -> str:
    """The 18-character SIP2 form; ``None`` gives a blank date."""
    if when is None:
        return BLANK_DATE
    return when.strftime("%Y%m%d") + zone[:4].rjust(4) + when.strftime("%H%M%S")


def format_iso_date(when: datetime | None) -> str:
    """The ``YYYY-MM-DD HH:MM:SS`` form that some ILSs expect instead."""
    return BLANK_DATE if when is None else when.strftime("%Y-%m-%d %H:%M:%S")


def parse_date(text: str) -> datetime | None:
    """A naive datetime from any date form seen in the wild, or ``None``."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) >= 18 and text[:8].isdigit() and text[12:18].isdigit():
            return datetime.strptime(text[:8] + text[12:18], "%Y%m%d%H%M%S")
        if len(text) == 14 and text.isdigit():  # zone dropped entirely
            return datetime.strptime(text, "%Y%m%d%H%M%S")
        if len(text) >= 10 and text[4] == "-":
            stamp = text[:19].replace("T", " ")
            fmt = "%Y-%m-%d %H:%M:%S" if len(stamp) == 19 else "%Y-%m-%d"
            return datetime.strptime(stamp if len(stamp) == 19 else stamp[:10], fmt)
        if len(text) == 8 and text.isdigit():
            return datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return None
    return None


def looks_like_iso_date(text: str, start: int) -> bool:
    """True when a 19-character ``YYYY-MM-DD HH:MM:SS`` date starts at ``start``."""
    chunk = text[start : start + 19]
    return (
        len(chunk) == 19
        and chunk[4] == "-"
        and chunk[7] == "-"
        and chunk[13] == ":"
        and chunk[16] == ":"
        and chunk[:4].isdigit()
    )
