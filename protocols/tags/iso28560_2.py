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
"""

from __future__ import annotations

from protocols.tags import compaction
from protocols.tags.errors import TagDataError
from protocols.tags.model import TagData

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
        if length == 0 or pos + length > len(data):
            raise TagDataError(f"ISO 28560-2: element of OID {oid} runs past the memory")
        raw = data[pos : pos + length]
        pos += length + pad
        if oid == 0:
            raise TagDataError("ISO 28560-2: relative OID 0")
        if scheme == compaction.APPLICATION and oid in ISIL_OIDS:
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
        return _tag(elements, data[0] if start else None)
    return None


def _tag(elements: list[tuple[int, str]], dsfid: int | None) -> TagData:
    values = dict(elements)
    item_id = values[PRIMARY]
    if not item_id or not item_id.isprintable():
        raise TagDataError(f"ISO 28560-2: unreadable primary item identifier {item_id!r}")
    set_size, set_index = 1, 1
    if SET_INFO in values:
        set_size, set_index = _set_info(values[SET_INFO])
    usage = 1
    if USAGE in values:
        text = values[USAGE]
        usage = int(text, 16) if len(text) <= 2 and not text.isdigit() else int(text)
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
    if not text.isdigit():
        raise TagDataError(f"ISO 28560-2: set information is not digits: {text!r}")
    if len(text) % 2:
        text = "0" + text
    half = len(text) // 2
    return int(text[:half]), int(text[half:])


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
    elements: list[tuple[int, str]] = [(PRIMARY, tag.item_id)]
    if tag.owner_library:
        elements.append((OWNER, tag.owner_library))
    if tag.set_size > 1 or tag.set_index > 1:
        width = max(2, len(str(tag.set_size)), len(str(tag.set_index)))
        elements.append((SET_INFO, f"{tag.set_size:0{width}}{tag.set_index:0{width}}".lstrip("0")))
    if tag.type_of_usage != 1:
        elements.append((USAGE, str(tag.type_of_usage)))
    known = {oid for oid, _ in elements}
    elements += [(oid, text) for oid, text in tag.elements if oid not in known]
    if not tag.item_id:
        raise TagDataError("ISO 28560-2: the primary item identifier is required")
    out = b"".join(_element(oid, text) for oid, text in elements) + b"\x00"
    return out + b"\x00" * (-len(out) % BLOCK_SIZE)
