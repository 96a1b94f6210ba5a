"""A typical return machine's settings and real-looking checkin answers, for the sorter tests.

The answers are exact bytes in the shapes Koha and Evergreen send (field order,
AY/AZ, Evergreen's decomposed UTF-8 and its 'AZ0000'); decoding them is part
of what the tests exercise.
"""

from __future__ import annotations

from typing import Any

from protocols.sip2 import CheckinResponse, decode
from protocols.tags.model import TagData
from sorter.settings import SorterSettings

# Koha, the item's CL filled by SIP2SortBinMapping.
KOHA_CL = (
    b"101YNN20261202    104512AOCPL|AB39999000001234|AQCPL|AJPerl best practices|"
    b"CLA|CRNFIC|CK001|AY3AZE4CF\r"
)
# Koha, a hold waiting here: CV 01, with the hold patron's id and name (never to be kept).
KOHA_HOLD = (
    b"101YNY20261202    104513AOCPL|AB39999000004321|AQCPL|AJThe hobbit|CTCPL|CV01|"
    b"CYHOLDPATRON7|DADoe, Jane|AFItem on hold for Doe, Jane|AY3AZD80D\r"
)
# Koha, in transit to another branch (CV 04, CT its code), a Vietnamese title.
KOHA_TRANSIT = (
    b"101YNY20261202    104514AOCPL|AB39999000005678|AQMPL|"
    b"AJTruy\xe1\xbb\x87n Ki\xe1\xbb\x81u|CTFFL|CV04|AY3AZE5F0\r"
)
# Koha refusing: the item was not on loan (ok 0, magnetic unknown).
KOHA_REFUSED = (
    b"100NUN20261202    104515AOCPL|AB39999000009999|AQ|AFItem not checked out|AY3AZEA92\r"
)
# Koha, an interlibrary loan (CV 03).
KOHA_ILL = (
    b"101YNY20261202    104516AOCPL|AB39999000007777|AQCPL|AJInterlibrary book|CV03|AY3AZE8CB\r"
)
# Evergreen's SIPServer: no CL ever, NFD titles, CR line ends, its constant 'AZ0000'.
# "Tiếng Việt" decomposed: the local rules must carry the sort.
EVERGREEN_CHILDREN = (
    b"101YNN20261202    104517AOBR1|AB31234000012345|AQTN|"
    b"AJTie\xcc\x82\xcc\x81ng Vie\xcc\xa3\xcc\x82t|CK001|CSPZ7 .T5|AY4AZ0000\r"
)
# Evergreen, a hold for another branch: CV 02 with the destination in CT.
EVERGREEN_HOLD_ELSEWHERE = (
    b"101YNY20261202    104518AOBR1|AB31234000054321|AQBR1|AJDune|CTBR2|CV02|AY5AZ0000\r"
)


OWNERS = ("VN-HN0001", "VN-HN0002")
"""The site's ISILs, as the device's ``tags.owner_libraries`` would list them."""


def answer(raw: bytes) -> CheckinResponse:
    message = decode(raw)
    assert isinstance(message, CheckinResponse)
    return message


def tag(item_id: str, owner: str = "VN-HN0001", size: int = 1, index: int = 1) -> TagData:
    return TagData(
        model="iso28560-3", item_id=item_id, owner_library=owner, set_size=size, set_index=index
    )


def bin_(bin_id: str, travel: float | None, capacity: int = 100, **more: Any) -> dict[str, Any]:
    output = None if travel is None else f"diverter_{bin_id}"
    return {
        "id": bin_id,
        "name_vi": f"Thùng {bin_id}",
        "name_en": f"Bin {bin_id}",
        "capacity": capacity,
        "output": output,
        "travel_seconds": travel,
        **more,
    }


def settings_data(**changes: Any) -> dict[str, Any]:
    """A machine with eight bins: three shelving bins, hold, two transit, ILL, exception."""
    data: dict[str, Any] = {
        "bins": [
            bin_("1", 1.0, overflow="2"),
            bin_("2", 1.5),
            bin_("3", 2.0),
            bin_("hold", 2.5),
            bin_("transit", 3.0),
            bin_("br2", 3.5),
            bin_("ill", 4.0),
            bin_("x", None),
        ],
        "exception_bin": "x",
        "default_bin": "3",
        "hold_bin": "hold",
        "ill_bin": "ill",
        "transit": {"default": "transit", "by_destination": {"BR2": "br2"}},
        "sort_bins": {"A": "1", "B": "2"},
        "rules": "AQ=TN → bin 2\nowner=VN-HN0002 -> 1\n",
    }
    data.update(changes)
    return data


def settings(**changes: Any) -> SorterSettings:
    return SorterSettings.model_validate(settings_data(**changes))
