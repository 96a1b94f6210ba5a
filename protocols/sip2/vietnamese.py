"""Vietnamese text in Windows-1258, the code page some Vietnamese ILSs still use.

cp1258 holds the letters with vowel marks (â ê ô ă ơ ư đ) precomposed but
the five tone marks only as combining characters, so "ệ" travels as "ê" plus
a combining dot below. Python's codec does not make that split itself; this
module does, only for characters cp1258 cannot carry as they are.
"""

from __future__ import annotations

import unicodedata

# Grave, acute, tilde, hook above, dot below: the combining marks cp1258 has.
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def cp1258_form(text: str) -> str:
    """``text`` rewritten so that every Vietnamese letter is representable in cp1258.

    Composed first: a catalogue that stores titles decomposed (NFD, as macOS and
    some MARC tools write them) hands in a lone combining circumflex or horn,
    which has no cp1258 byte of its own; composed, it joins its vowel.
    """
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        try:
            char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            tones = "".join(c for c in parts if c in TONE_MARKS)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
            out.append(base + tones)
        else:
            out.append(char)
    return "".join(out)
