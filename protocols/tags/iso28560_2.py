"""ISO 28560-2 tags: ISO/IEC 15962 data elements without a directory.

Memory holds data elements one after another, the primary item identifier
(relative OID 1) first, and a 0x00 byte after the last. Each element: a
precursor byte (0x80 offset flag, bits 4-6 compaction code, low 4 bits the
relative OID), for OIDs 15 and up a byte holding OID - 15 (the precursor's
OID bits then read 1111), an offset byte if flagged (the number of pad bytes
after the data, used to end on a block boundary), the length of the compacted
data, the data, the pad bytes. Owner institution and the ILL borrowing
institution use the ISIL compaction when their compaction code is 0
("application-defined"). Some tools put the tag's DSFID (0x06 for ISO 28560)
in front of the memory; we accept that too.

OIDs from 15 up (see :data:`EXTENDED_OID`): the byte after the precursor holds
OID - 15, and it comes *before* the offset byte. Evidence, the standard's text
not being at hand: DigitalPlatform/dp2 (DigitalPlatform.RFID/Element.cs,
``Element.Compact`` writes precursor, OID - 15, offset, length; ``Element.Parse``
reads them in that order; ``AdjustPaddingBytes`` inserts an offset byte after the
OID byte, a fix dated 2019-07-07); its UnitTestRFID/TestChip.cs
``Test_chip_layout_3`` asserts ``7F 02`` for the title (OID 17). Two real tags
agree through their content parameter (the bit map of the OIDs present): the
"zhiyan" tag of dp2's TestDp2Library/TestRfid.cs has ``5F 08`` and a content
parameter ``A8 00 08`` whose last bit is OID 23 = 15 + 8; dp2's title tag has
``D0 02``, whose last bit is OID 17 = 15 + 2.

An element may have length 0: its value is empty. Real tags carry them (a
GB/T 35660 tag in DigitalPlatform/dp2's tests, "ganchuang 1", has an empty
owner institution ``03 00``); only the primary item identifier must not be
empty.
"""

from __future__ import annotations

from typing import NamedTuple

from protocols.tags import compaction
from protocols.tags.errors import TagDataError
from protocols.tags.model import TagData, checked_set

MODEL = "iso28560-2"
BLOCK_SIZE = 4
DSFIDS = (0x06, 0x3E)

OIDS = {
    1: "primary item identifier",
    2: "content parameter",
    3: "owner institution (ISIL)",
    4: "set information",
    5: "type of usage",
    6: "shelf location",
    7: "ONIX media format",
    8: "MARC media format",
    9: "supplier identifier",
    10: "order number",
    11: "ILL borrowing institution (ISIL)",
    12: "ILL borrowing transaction number",
    13: "GS1 product identifier",
    14: "alternative unique item identifier",
    15: "local data A",
    16: "local data B",
    17: "title",
    18: "local product identifier",
    19: "media format (other)",
    20: "supply chain stage",
    21: "supplier invoice number",
    22: "alternative item identifier",
    23: "alternative owner institution (ISIL)",
    24: "subsidiary of an owner institution",
    25: "alternative ILL borrowing institution (ISIL)",
    26: "local data C",
}
ISIL_OIDS = {3, 11, 23, 25}
"""Elements read with the ISIL compaction when their compaction code is 0."""
WRITTEN_AS_ISIL = {3, 11}
"""Elements written with it: the ones dp2 also reads that way (Element.cs ``Parse``)."""
PRIMARY, CONTENT, OWNER, SET_INFO, USAGE, SHELF = 1, 2, 3, 4, 5, 6
EXTENDED_OID = 15
"""Precursor OID bits 1111: the next byte holds OID - 15 (OIDs 15-127 in ISO/IEC 15962)."""
MAX_OID = 127


class _Element(NamedTuple):
    oid: int
    scheme: int
    raw: bytes
    text: str


def _elements(data: bytes, start: int) -> list[_Element]:
    out: list[_Element] = []
    pos = start
    while pos < len(data) and data[pos] != 0x00:
        precursor = data[pos]
        pos += 1
        scheme = precursor >> 4 & 0x07
        oid = precursor & 0x0F
        if oid == EXTENDED_OID:
            if pos >= len(data):
                raise TagDataError("ISO 28560-2: extended OID byte missing")
            oid = EXTENDED_OID + data[pos]
            pos += 1
        pad = 0
        if precursor & 0x80:
            if pos >= len(data):
                raise TagDataError("ISO 28560-2: offset byte missing")
            pad = data[pos]
            pos += 1
        if pos >= len(data):
            raise TagDataError("ISO 28560-2: length byte missing")
        length = data[pos]
        pos += 1
        if pos + length > len(data):
            raise TagDataError(f"ISO 28560-2: element of OID {oid} runs past the memory")
        raw = data[pos : pos + length]
        pos += length + pad
        if oid == 0:
            raise TagDataError("ISO 28560-2: relative OID 0")
        out.append(_Element(oid, scheme, raw, _text(oid, scheme, raw)))
    return out


def _text(oid: int, scheme: int, raw: bytes) -> str:
    if not raw:
        return ""
    if scheme == compaction.APPLICATION and oid in ISIL_OIDS:
        return compaction.isil_decode(raw)
    if oid == USAGE and scheme == compaction.OCTETS:
        # One byte, type then qualifier: shown as its two hex digits, as dp2 reads it
        # (and as application-defined data reads anyway), not as a control character.
        return raw.hex().upper()
    return compaction.decode(scheme, raw)


def parse(data: bytes) -> TagData | None:
    """The tag, or None when ``data`` does not hold well-formed ISO 28560-2 elements."""
    for start in (0, 1):
        if start == 1 and data[:1] and data[0] not in DSFIDS:
            continue
        if start >= len(data) or data[start] & 0x0F != PRIMARY:
            continue
        try:
            elements = _elements(data, start)
        except TagDataError:
            continue
        if not elements[0].text:
            continue  # an empty item id: not this model's data
        return _tag(elements, data[0] if start else None)
    return None


def _tag(elements: list[_Element], dsfid: int | None) -> TagData:
    first = {element.oid: element for element in reversed(elements)}  # the first of each OID
    item_id = first[PRIMARY].text
    if not item_id or not item_id.isprintable():
        raise TagDataError(f"ISO 28560-2: unreadable primary item identifier {item_id!r}")
    set_size, set_index = 1, 1
    if SET_INFO in first and first[SET_INFO].text:
        set_size, set_index = _set_info(first[SET_INFO].text)
    usage = _usage(first[USAGE]) if USAGE in first and first[USAGE].raw else 1
    fields: dict[str, object] = {}
    if dsfid is not None:
        fields["dsfid"] = dsfid
    return TagData(
        model=MODEL,
        item_id=item_id,
        owner_library=first[OWNER].text if OWNER in first else "",
        set_size=set_size,
        set_index=set_index,
        type_of_usage=usage,
        crc_valid=None,
        elements=tuple((element.oid, element.text) for element in elements),
        fields=fields,
    )


def _set_info(text: str) -> tuple[int, int]:
    """Set information: total parts then this part's number, as two equal halves of digits."""
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise TagDataError(f"ISO 28560-2: set information is not 1-6 digits: {text!r}")
    if len(text) % 2:
        text = "0" + text
    half = len(text) // 2
    return checked_set(int(text[:half]), int(text[half:]))


def _usage(element: _Element) -> int:
    """The type of usage (0-15, as in ISO 28560-3) from its element, however it was compacted.

    The element holds one byte: the type in its high nibble, a qualifier in the low one
    (0x10 a circulating item, 0x12 one not for automatic sorting). Real GB/T 35660 tags in
    dp2's tests write it as an octet string (``65 01 10`` "ganchuang 1", ``65 01 12``
    test_logicChip_11) or in numeric compaction (``25 01 10``, "zhiyan 1"), where the two
    digits read "10"; HelMet's decoder expects it application-defined (``05 01 10``, what
    this encoder wrote before the numeric form). An integer up to 15 is the type alone
    (what it wrote before that); text schemes hold one or two hex digits.
    """
    raw, text = element.raw, element.text
    if element.scheme in (compaction.APPLICATION, compaction.OCTETS) and len(raw) == 1:
        return raw[0] >> 4
    if element.scheme == compaction.INTEGER and len(raw) == 1:
        return raw[0] if raw[0] <= 0x0F else raw[0] >> 4
    if 1 <= len(text) <= 2 and all(c in "0123456789ABCDEFabcdef" for c in text):
        return int(text[0], 16)
    raise TagDataError(f"ISO 28560-2: unreadable type of usage {text!r}")


# --- writing ----------------------------------------------------------------------------------


def element(oid: int, scheme: int, raw: bytes, pad: int | None = None) -> bytes:
    """One data element: precursor, OID - 15 for OIDs from 15, offset, length, data, pad.

    ``pad`` None writes no offset byte; 0 or more writes the offset flag, the offset byte
    and that many 0x00 pad bytes (an element ending on a block boundary takes the offset
    byte plus pad - 1 more bytes: see :func:`_aligned`).
    """
    if not 1 <= oid <= MAX_OID:
        raise TagDataError(f"ISO 28560-2: relative OID {oid} is not 1-{MAX_OID}")
    if len(raw) > 255:
        raise TagDataError(f"ISO 28560-2: {OIDS.get(oid, f'OID {oid}')} is too long")
    offset = 0x80 if pad is not None else 0
    if oid < EXTENDED_OID:
        head = bytes([offset | scheme << 4 | oid])
    else:
        head = bytes([offset | scheme << 4 | EXTENDED_OID, oid - EXTENDED_OID])
    if pad is not None:
        head += bytes([pad])
    return head + bytes([len(raw)]) + raw + bytes(pad or 0)


def _aligned(position: int, oid: int, scheme: int, raw: bytes) -> bytes:
    """The element written at ``position`` so that it ends on a block boundary."""
    plain = element(oid, scheme, raw)
    spare = -(position + len(plain)) % BLOCK_SIZE
    return plain if spare == 0 else element(oid, scheme, raw, pad=spare - 1)


def _compacted(oid: int, text: str) -> tuple[int, bytes]:
    """The compaction scheme and bytes this encoder writes ``text`` of element ``oid`` in."""
    if oid in WRITTEN_AS_ISIL:
        return compaction.APPLICATION, compaction.isil_encode(text)
    if oid == CONTENT:
        return compaction.APPLICATION, compaction.encode(compaction.APPLICATION, text)
    if oid == USAGE:
        return _usage_bytes(text)
    scheme = compaction.best_scheme(text)
    return scheme, compaction.encode(scheme, text)


def _usage_bytes(text: str) -> tuple[int, bytes]:
    """Type of usage: two hex digits, written as numeric when both are decimal digits.

    dp2 reads a numeric "10" and an octet 0x10 alike ("10"); HelMet's decoder (Finnish
    libraries, ``HelmetRfidTag``) reads the numeric digits "10" but an octet string as the
    control character U+0010, so numeric is the one both read the same (the "zhiyan" tag
    is written that way). Types A-F (reserved) can only be an octet.
    """
    if len(text) != 2 or not all(c in "0123456789ABCDEFabcdef" for c in text):
        raise TagDataError(f"ISO 28560-2: a type of usage is two hex digits, not {text!r}")
    if text.isdigit():
        return compaction.NUMERIC, compaction.encode(compaction.NUMERIC, text)
    return compaction.OCTETS, bytes.fromhex(text)


def content_parameter(oids: set[int]) -> str:
    """The content parameter (OID 2): one bit per OID from 3 present, OID 3 the first bit."""
    bits = 0
    highest = max((oid for oid in oids if oid >= OWNER), default=OWNER)
    width = (highest - OWNER) // 8 + 1
    for oid in oids:
        if oid >= OWNER:
            bits |= 1 << (width * 8 - 1 - (oid - OWNER))
    return bits.to_bytes(width, "big").hex().upper()


def _usage_text(tag: TagData) -> str | None:
    """The type of usage to write: the tag's own element when it says the same type (keeping
    its qualifier), else the type with qualifier 0; none for the default, a circulating item."""
    for oid, text in tag.elements:
        if oid == USAGE and text:
            try:
                same = _usage(_Element(USAGE, compaction.UTF8, b"", text)) == tag.type_of_usage
            except TagDataError:
                same = False
            if same and len(text) == 2:
                return text.upper()
    if tag.type_of_usage == 1:
        return None
    return f"{tag.type_of_usage:X}0"


def encode(tag: TagData) -> bytes:
    """The memory of ``tag``, laid out as ISO 28560-2 Annex D does (and dp2 writes it).

    The primary item identifier first, ending on a block boundary; the content parameter
    when other elements follow; the other elements by OID; the owner institution last,
    ending on a block boundary. The standard's worked example locks exactly those two
    elements' blocks, and writing them aligned keeps that possible; its bytes are what
    this gives for the same content (tests: ``ANNEX_D_FULL``). A 0x00 byte ends the data.
    """
    checked_set(tag.set_size, tag.set_index)
    if not tag.item_id:
        raise TagDataError("ISO 28560-2: the primary item identifier is required")
    if not 0 <= tag.type_of_usage <= 15:
        raise TagDataError(f"type of usage {tag.type_of_usage} is not 0-15")
    texts: dict[int, str] = {}
    for oid, text in tag.elements:
        if oid not in (PRIMARY, CONTENT):
            texts.setdefault(oid, text)
    texts.pop(USAGE, None)
    if tag.owner_library:
        texts[OWNER] = tag.owner_library
    if tag.set_size > 1 or tag.set_index > 1:
        width = max(2, len(str(tag.set_size)), len(str(tag.set_index)))
        # "1203" takes the integer compaction, "0201" the numeric one (leading zero): what
        # dp2's encoder chooses (Compact.cs AutoSelectCompactMethod), so both read "0201"
        texts[SET_INFO] = f"{tag.set_size:0{width}}{tag.set_index:0{width}}"
    elif texts.get(SET_INFO):
        del texts[SET_INFO]  # the elements said a set, the tag says one part: the tag wins
    usage = _usage_text(tag)
    if usage is not None:
        texts[USAGE] = usage
    out = _aligned(0, PRIMARY, *_compacted(PRIMARY, tag.item_id))
    if texts:
        present = bytes.fromhex(content_parameter(set(texts)))
        out += element(CONTENT, compaction.APPLICATION, present)
    for oid in sorted(texts):
        if oid != OWNER:
            out += element(oid, *_compacted(oid, texts[oid]) if texts[oid] else (0, b""))
    if OWNER in texts:
        scheme, raw = _compacted(OWNER, texts[OWNER]) if texts[OWNER] else (0, b"")
        out += _aligned(len(out), OWNER, scheme, raw)
    out += b"\x00"
    return out + b"\x00" * (-len(out) % BLOCK_SIZE)
