"""ISO 28560-2 tags: ISO/IEC 15962 data elements without a directory.

Memory holds data elements one after another, the primary item identifier
(relative OID 1) first, and a 0x00 byte after the last. Each element: a
precursor byte (0x80 offset flag, bits 4-6 compaction code, low 4 bits the
relative OID; 15 means the OID is in the next byte), the OID byte if any, an
offset byte if flagged (pad bytes after the data, used to end on a block
boundary), the length of the compacted data, the data, the pad bytes. Owner
institution and the other ISIL elements use the ISIL compaction when their
compaction code is 0 ("application-defined"). Some tools put the tag's DSFID
(0x06 for ISO 28560) in front of the memory; we accept that too.

An element may have length 0: its value is empty. Real tags carry them (a
GB/T 35660 tag in DigitalPlatform/dp2's tests, "ganchuang 1", has an empty
owner institution ``03 00``); only the primary item identifier must not be
empty.
"""

from __future__ import annotations

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
PRIMARY, OWNER, SET_INFO, USAGE = 1, 3, 4, 5


def _elements(data: bytes, start: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pos = start
    while pos < len(data) and data[pos] != 0x00:
        precursor = data[pos]
        pos += 1
        scheme = precursor >> 4 & 0x07
        oid = precursor & 0x0F
        if oid == 15:
            if pos >= len(data):
                raise TagDataError("ISO 28560-2: OID byte missing")
            oid = data[pos]
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
        if not raw:
            value = ""
        elif scheme == compaction.APPLICATION and oid in ISIL_OIDS:
            value = compaction.isil_decode(raw)
        else:
            value = compaction.decode(scheme, raw)
        out.append((oid, value))
    return out


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
        if not elements[0][1]:
            continue  # an empty item id: not this model's data
        return _tag(elements, data[0] if start else None)
    return None


def _tag(elements: list[tuple[int, str]], dsfid: int | None) -> TagData:
    values = dict(elements)
    item_id = values[PRIMARY]
    if not item_id or not item_id.isprintable():
        raise TagDataError(f"ISO 28560-2: unreadable primary item identifier {item_id!r}")
    set_size, set_index = 1, 1
    if values.get(SET_INFO):
        set_size, set_index = _set_info(values[SET_INFO])
    usage = _usage(values[USAGE]) if values.get(USAGE) else 1
    fields: dict[str, object] = {}
    if dsfid is not None:
        fields["dsfid"] = dsfid
    return TagData(
        model=MODEL,
        item_id=item_id,
        owner_library=values.get(OWNER, ""),
        set_size=set_size,
        set_index=set_index,
        type_of_usage=usage,
        crc_valid=None,
        elements=tuple(elements),
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


def _usage(text: str) -> int:
    """The type of usage (0-15, as in ISO 28560-3) from its element, however it was compacted.

    The element holds one byte of two hex digits: the type, then a qualifier (0x10 a
    circulating item, 0x20 not for circulation). Real GB/T 35660 tags in dp2's tests
    write it as an octet string (``65 01 10``, "ganchuang 1") or in numeric compaction
    (``25 01 10``, "zhiyan 1"); application-defined data reads back as the same two hex
    digits. A single digit is the type alone (what this encoder wrote before).
    """
    if len(text) == 1 and not "0" <= text <= "9":  # not str.isdigit: "¹" (0xB9) is a digit
        return ord(text) >> 4 if ord(text) <= 0xFF else _bad_usage(text)  # the octet itself
    if len(text) == 1:
        return int(text)
    if len(text) == 2 and all(c in "0123456789ABCDEFabcdef" for c in text):
        return int(text[0], 16)
    return _bad_usage(text)


def _bad_usage(text: str) -> int:
    raise TagDataError(f"ISO 28560-2: unreadable type of usage {text!r}")


def _element(oid: int, text: str, scheme: int | None = None) -> bytes:
    if oid in ISIL_OIDS and scheme is None:
        scheme, raw = compaction.APPLICATION, compaction.isil_encode(text)
    else:
        scheme = compaction.best_scheme(text) if scheme is None else scheme
        raw = compaction.encode(scheme, text)
    if len(raw) > 255:
        raise TagDataError(f"ISO 28560-2: {OIDS.get(oid, oid)} is too long")
    head = bytes([scheme << 4 | oid]) if oid < 15 else bytes([scheme << 4 | 15, oid])
    return head + bytes([len(raw)]) + raw


def encode(tag: TagData) -> bytes:
    checked_set(tag.set_size, tag.set_index)
    if not tag.item_id:
        raise TagDataError("ISO 28560-2: the primary item identifier is required")
    elements: list[tuple[int, str, int | None]] = [(PRIMARY, tag.item_id, None)]
    if tag.owner_library:
        elements.append((OWNER, tag.owner_library, None))
    if tag.set_size > 1 or tag.set_index > 1:
        width = max(2, len(str(tag.set_size)), len(str(tag.set_index)))
        info = f"{tag.set_size:0{width}}{tag.set_index:0{width}}".lstrip("0")
        elements.append((SET_INFO, info, None))
    if tag.type_of_usage != 1:
        if not 0 <= tag.type_of_usage <= 15:
            raise TagDataError(f"type of usage {tag.type_of_usage} is not 0-15")
        # One byte, type then qualifier 0, as the GB/T 35660 tags in dp2's tests have it.
        elements.append((USAGE, f"{tag.type_of_usage:X}0", compaction.APPLICATION))
    known = {oid for oid, _, _ in elements}
    elements += [(oid, text, None) for oid, text in tag.elements if oid not in known]
    out = b"".join(_element(oid, text, scheme) for oid, text, scheme in elements) + b"\x00"
    return out + b"\x00" * (-len(out) % BLOCK_SIZE)
