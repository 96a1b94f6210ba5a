"""ISO/IEC 15962 compaction schemes, and the ISIL compaction of ISO 28560-2 Annex C.

Codes (bits 4-6 of a precursor): 0 application-defined (bytes as they are;
for ISIL data elements, the ISIL compaction below), 1 integer, 2 numeric,
3 5-bit, 4 6-bit, 5 7-bit, 6 octet string, 7 UTF-8.

Checked against the worked examples of ISO 28560-2 (GOST R ISO 28560-2-2014
Annexes C and D): the item id 123456789012 as integer ``1C BE 99 1A 14``; the
shelf mark ``QA268.L55`` in 6-bit code as ``44 1C B6 E2 E3 35 D6``; the ISIL
``DE-Heu1`` as ``21 40 8E 16 BF 1F``.

Numeric compaction (code 2) packs one decimal digit in each 4 bits, most
significant nibble first, and fills an odd count's last nibble with 1111:
``00`` is ``00``, ``01`` is ``01``, ``010`` is ``01 0F``. That is how
DigitalPlatform/dp2 (DigitalPlatform.RFID/Compact.cs ``NumericCompact`` /
``NumericExtract``, and the vectors of its TestRfid.cs ``Test_digit_1..3``)
writes and reads the GB/T 35660 (= ISO 28560-2) tags of its libraries, and it
is the same 4-bit digit code with a 1111 fill that ISO 28560-2 Annex C uses
for the digits of an ISIL. (An earlier reading here, "prefix a 1 digit, then
convert to binary", is the numeric-string method of GS1's EPC Tag Data
Standard and of PDF417, not of ISO 15962; it would read dp2's ``01 0F`` as
another item.) Leading zeros are why this scheme exists: digit strings
without them take the integer scheme.
"""

from __future__ import annotations

from protocols.tags.errors import TagDataError

APPLICATION, INTEGER, NUMERIC, BIT5, BIT6, BIT7, OCTETS, UTF8 = range(8)
NAMES = {
    APPLICATION: "application-defined",
    INTEGER: "integer",
    NUMERIC: "numeric",
    BIT5: "5-bit",
    BIT6: "6-bit",
    BIT7: "7-bit",
    OCTETS: "octet string",
    UTF8: "UTF-8",
}


# --- bit strings ------------------------------------------------------------------------


def _pack(codes: list[tuple[int, int]], pad: int, pad_width: int) -> bytes:
    """Concatenate (value, width) codes MSB first; fill the last byte from ``pad``."""
    bits = 0
    count = 0
    for value, width in codes:
        bits = bits << width | value
        count += width
    spare = -count % 8
    if spare:
        fill = pad >> (pad_width - spare) if spare <= pad_width else (1 << spare) - 1
        bits = bits << spare | fill
        count += spare
    return bits.to_bytes(count // 8, "big") if count else b""


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.left = len(data) * 8

    def take(self, width: int) -> int | None:
        if width > self.left:
            return None
        self.left -= width
        return self.value >> self.left & ((1 << width) - 1)


# --- integer and numeric ---------------------------------------------------------------------


MAX_ELEMENT = 255
"""The longest compacted data an element's one length byte can give."""


def _to_int(data: bytes) -> int:
    if not data:
        raise TagDataError("empty integer")
    if len(data) > MAX_ELEMENT:
        raise TagDataError(f"an integer of {len(data)} bytes")
    return int.from_bytes(data, "big")


def _from_int(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _numeric_encode(text: str) -> bytes:
    if not (text.isascii() and text.isdigit()):
        raise TagDataError(f"numeric compaction needs digits: {text!r}")
    return _pack([(int(digit), 4) for digit in text], 0xF, 4)


def _numeric_decode(data: bytes) -> str:
    nibbles = [n for byte in data for n in (byte >> 4, byte & 0x0F)]
    if nibbles and nibbles[-1] == 0xF:
        nibbles.pop()  # the fill of an odd number of digits
    if any(n > 9 for n in nibbles):
        raise TagDataError(f"numeric compaction: {data.hex().upper()} is not 4-bit digits")
    return "".join(map(str, nibbles))


# --- 5, 6 and 7-bit codes --------------------------------------------------------------------


def _bits_encode(text: str, width: int) -> bytes:
    codes = []
    for char in text:
        code = ord(char)
        if width == 5 and 0x40 <= code <= 0x5F:
            codes.append((code & 0x1F, 5))
        elif width == 6 and 0x20 <= code <= 0x5F:
            codes.append((code & 0x3F, 6))
        elif width == 7 and code < 0x80:
            codes.append((code, 7))
        else:
            raise TagDataError(f"{char!r} has no {width}-bit code")
    return _pack(codes, _PAD_CODE[width], width)


_PAD_CODE = {5: 0x1F, 6: 0x20, 7: 0x7F}


def _bits_decode(data: bytes, width: int) -> str:
    bits = _Bits(data)
    total = len(data) * 8
    codes = []
    while (code := bits.take(width)) is not None:
        codes.append(code)
    # An encoder fills the last byte's spare bits (fewer than 8): this one from the pad
    # code, others with zeros (the "zhiyan" tag in dp2's TestRfid.cs has "BA" in 5-bit as
    # ``10 40``; dp2's Bit5Extract stops at a zero code). That fill can hold one whole
    # code: a pad or zero code lying wholly in it is fill, not a character.
    fill = (0, _PAD_CODE[width])
    if codes and (len(codes) - 1) * width > total - 8 and codes[-1] in fill:
        codes.pop()
    if width == 5:
        return "".join(chr(code | 0x40) for code in codes)
    if width == 6:
        return "".join(chr(code if code >= 0x20 else code | 0x40) for code in codes)
    return "".join(map(chr, codes))


# --- the ISIL compaction (ISO 28560-2 Annex C) --------------------------------------------------

_UPPER = "-ABCDEFGHIJKLMNOPQRSTUVWXYZ:"  # codes 0-27; 28-31 switch sets
_LOWER = "-abcdefghijklmnopqrstuvwxyz:"
_DIGITS = "0123456789-:"  # 4-bit codes 0-11; 12-15 switch sets
_UP, _LOW, _NUM = "upper", "lower", "numeric"
# 5-bit switch codes, in the upper and the lower set
_LATCH_OTHER, _SHIFT_OTHER, _LATCH_NUM, _SHIFT_NUM = 28, 29, 30, 31
# 4-bit switch codes in the numeric set
_N_LATCH_UP, _N_SHIFT_UP, _N_LATCH_LOW, _N_SHIFT_LOW = 12, 13, 14, 15


def _set_of(char: str) -> str:
    if char in _DIGITS[:10]:
        return _NUM
    if char.isascii() and char.isupper():
        return _UP
    if char.isascii() and char.islower():
        return _LOW
    if char in "-:":
        return ""  # in every set
    raise TagDataError(f"{char!r} cannot be in an ISIL")


def isil_encode(isil: str) -> bytes:
    codes: list[tuple[int, int]] = []
    current = _UP
    for index, char in enumerate(isil):
        wanted = _set_of(char) or current
        if wanted != current:
            following = [s for c in isil[index + 1 : index + 2] if (s := _set_of(c) or wanted)]
            latch = bool(following) and following[0] == wanted
            codes.append(_switch(current, wanted, latch))
            if latch:
                current = wanted
        table = {_UP: _UPPER, _LOW: _LOWER, _NUM: _DIGITS}[wanted]
        codes.append((table.index(char), 4 if wanted == _NUM else 5))
    return _pack(codes, 0xF, 4)


def _switch(current: str, wanted: str, latch: bool) -> tuple[int, int]:
    if current == _NUM:
        if wanted == _UP:
            return (_N_LATCH_UP if latch else _N_SHIFT_UP, 4)
        return (_N_LATCH_LOW if latch else _N_SHIFT_LOW, 4)
    if wanted == _NUM:
        return (_LATCH_NUM if latch else _SHIFT_NUM, 5)
    return (_LATCH_OTHER if latch else _SHIFT_OTHER, 5)


def isil_decode(data: bytes) -> str:
    bits = _Bits(data)
    out = []
    current = _UP
    shifted: str | None = None
    while True:
        active = shifted or current
        width = 4 if active == _NUM else 5
        code = bits.take(width)
        if code is None:
            break
        if active == _NUM:
            if code < len(_DIGITS):
                out.append(_DIGITS[code])
            elif code in (_N_LATCH_UP, _N_LATCH_LOW) and bits.left >= 5:
                current, shifted = (_UP if code == _N_LATCH_UP else _LOW), None
                continue
            elif code in (_N_SHIFT_UP, _N_SHIFT_LOW) and bits.left >= 5:
                shifted = _UP if code == _N_SHIFT_UP else _LOW
                continue
            elif bits.left < 8 and code == 0xF:
                break  # the pad
            else:
                raise TagDataError(f"ISIL: switch code {code} with nothing after it")
        else:
            table = _UPPER if active == _UP else _LOWER
            other = _LOW if active == _UP else _UP
            if code < len(table):
                out.append(table[code])
            elif code == _LATCH_OTHER:
                current, shifted = other, None
                continue
            elif code == _SHIFT_OTHER:
                shifted = other
                continue
            elif code == _LATCH_NUM:
                current, shifted = _NUM, None
                continue
            elif code == _SHIFT_NUM:
                if bits.left < 4:
                    break  # the pad's leading ones
                shifted = _NUM
                continue
        shifted = None
    if not out:
        raise TagDataError("ISIL: no characters")
    return "".join(out)


# --- the schemes as a whole -----------------------------------------------------------------


def decode(scheme: int, data: bytes) -> str:
    """The text of a compacted data element (application-defined data comes back as hex)."""
    try:
        if scheme == INTEGER:
            return str(_to_int(data))
        if scheme == NUMERIC:
            return _numeric_decode(data)
        if scheme in (BIT5, BIT6, BIT7):
            return _bits_decode(data, {BIT5: 5, BIT6: 6, BIT7: 7}[scheme])
        if scheme == OCTETS:
            return data.decode("latin-1")
        if scheme == UTF8:
            return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TagDataError(f"{NAMES[scheme]} data is not valid: {error}") from None
    return data.hex().upper()


def encode(scheme: int, text: str) -> bytes:
    """The compacted bytes of ``text``; :class:`TagDataError` when the scheme cannot hold it."""
    if scheme == INTEGER:
        digits = text.isascii() and text.isdigit()
        if not digits or (text.startswith("0") and text != "0") or len(text) > 600:
            raise TagDataError(f"integer compaction needs digits without leading zeros: {text!r}")
        return _from_int(int(text))
    if scheme == NUMERIC:
        return _numeric_encode(text)
    if scheme in (BIT5, BIT6, BIT7):
        return _bits_encode(text, {BIT5: 5, BIT6: 6, BIT7: 7}[scheme])
    try:
        if scheme == OCTETS:
            return text.encode("latin-1")
        if scheme == UTF8:
            return text.encode("utf-8")
        return bytes.fromhex(text)
    except ValueError:  # UnicodeEncodeError too: unpaired surrogates, non-Latin-1, bad hex
        raise TagDataError(f"{NAMES.get(scheme, scheme)} cannot hold {text!r}") from None


def best_scheme(text: str) -> int:
    """The most compact scheme that holds ``text`` exactly (what 15962 encoders choose)."""
    if text.isascii() and text.isdigit():
        if (not text.startswith("0") or text == "0") and len(text) <= 600:
            return INTEGER
        return NUMERIC
    if text and all(0x40 <= ord(c) <= 0x5F for c in text):
        return BIT5
    if text and all(0x20 <= ord(c) <= 0x5F for c in text):
        return BIT6
    if text.isascii():
        return BIT7
    return UTF8
