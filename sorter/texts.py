"""Every word the return machine shows patrons and staff, in Vietnamese and English.

Kept in one module so a translator reads them all in one place, and so a test
can check that no text is missing in either language. Staff texts never carry
a patron's identity: the replay report names the item, never who holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sorter.reasons import ExceptionReason

Language = Literal["vi", "en"]


@dataclass(frozen=True, slots=True)
class Text:
    """One message in both languages; ``{placeholders}`` are filled by :meth:`format`."""

    vi: str
    en: str

    def in_language(self, language: Language) -> str:
        return self.vi if language == "vi" else self.en

    def format(self, language: Language, **values: object) -> str:
        return self.in_language(language).format(**values)


@dataclass(frozen=True, slots=True)
class ReasonTexts:
    """What staff read about an exception reason, and what the patron is told."""

    name: Text
    """Short name for the staff screen, the exception list and the bin slip."""
    staff_action: Text
    """What staff should do with an item that went to the exception bin for this reason."""
    patron: Text
    """The wall screen's line for the patron (the ILS's AF text is shown as well)."""


REASONS: dict[ExceptionReason, ReasonTexts] = {
    ExceptionReason.UNREADABLE_TAG: ReasonTexts(
        name=Text("Không đọc được nhãn", "Unreadable or blank tag"),
        staff_action=Text(
            "Kiểm tra nhãn RFID của tài liệu; trả tài liệu tại quầy và ghi lại hoặc thay nhãn.",
            "Check the item's RFID tag; check it in at the desk and rewrite or replace the tag.",
        ),
        patron=Text(
            "Không đọc được tài liệu này; thủ thư sẽ kiểm tra.",
            "This item could not be read; staff will check it.",
        ),
    ),
    ExceptionReason.NOT_OURS: ReasonTexts(
        name=Text("Không phải tài liệu của thư viện", "Not ours"),
        staff_action=Text(
            "Tài liệu của thư viện khác hoặc đồ cá nhân: gửi trả nơi sở hữu.",
            "Another library's item or a personal belonging: send it back to its owner.",
        ),
        patron=Text(
            "Tài liệu này không thuộc thư viện; thủ thư sẽ xử lý.",
            "This item is not from this library; staff will deal with it.",
        ),
    ),
    ExceptionReason.INCOMPLETE_SET: ReasonTexts(
        name=Text("Bộ tài liệu thiếu phần", "Incomplete set"),
        staff_action=Text(
            "Một phần của bộ tài liệu chưa được trả: giữ lại và liên hệ bạn đọc.",
            "A part of the set was not returned: keep it and contact the patron.",
        ),
        patron=Text(
            "Bộ tài liệu còn thiếu phần; vui lòng trả đủ các phần.",
            "Part of this set is missing; please return every part.",
        ),
    ),
    ExceptionReason.ILS_REFUSED: ReasonTexts(
        name=Text("Hệ thống từ chối trả", "ILS refused"),
        staff_action=Text(
            "Đọc thông báo của hệ thống (AF) và trả tài liệu tại quầy.",
            "Read the ILS's message (AF) and check the item in at the desk.",
        ),
        patron=Text(
            "Hệ thống không nhận trả tài liệu này; thủ thư sẽ kiểm tra.",
            "The library system did not accept this return; staff will check it.",
        ),
    ),
    ExceptionReason.ILS_ERROR: ReasonTexts(
        name=Text("Lỗi hệ thống thư viện", "ILS error"),
        staff_action=Text(
            "Kiểm tra kết nối tới hệ thống thư viện, rồi trả tài liệu tại quầy.",
            "Check the link to the library system, then check the item in at the desk.",
        ),
        patron=Text(
            "Hệ thống thư viện đang lỗi; thủ thư sẽ hoàn tất việc trả.",
            "The library system has a problem; staff will finish this return.",
        ),
    ),
    ExceptionReason.SECURITY_NOT_VERIFIED: ReasonTexts(
        name=Text("Chưa bật được an ninh", "Security not verified"),
        staff_action=Text(
            "Bật lại an ninh (AFI/EAS) của nhãn tại quầy trước khi xếp lên giá.",
            "Set the tag's security (AFI/EAS) again at the desk before shelving.",
        ),
        patron=Text("Đã nhận — cảm ơn.", "Returned — thank you."),
    ),
    ExceptionReason.ALREADY_SORTED: ReasonTexts(
        name=Text("Đã phân loại trong lượt này", "Already sorted in this drop"),
        staff_action=Text(
            "Nhãn được đọc hai lần (có thể hai nhãn giống nhau): kiểm tra tài liệu và nhãn.",
            "The tag was read twice (perhaps two identical tags): check the item and its tag.",
        ),
        patron=Text(
            "Tài liệu này đã được nhận ở lượt này.",
            "This item was already received in this drop.",
        ),
    ),
    ExceptionReason.BIN_FULL: ReasonTexts(
        name=Text("Thùng đích đã đầy", "Destination bin full"),
        staff_action=Text(
            "Làm trống thùng đã đầy; đặt tài liệu vào thùng mà danh sách ngoại lệ ghi.",
            "Empty the full bin; put the item in the bin the exception list names.",
        ),
        patron=Text("Đã nhận — cảm ơn.", "Returned — thank you."),
    ),
    ExceptionReason.LATE_ILS: ReasonTexts(
        name=Text("Hệ thống trả lời chậm", "ILS answered late"),
        staff_action=Text(
            "Việc trả đã được hoàn tất sau; chỉ cần xếp tài liệu theo danh sách ngoại lệ.",
            "The checkin was finished afterwards; sort the item as the exception list says.",
        ),
        patron=Text("Đã nhận — cảm ơn.", "Returned — thank you."),
    ),
}

RETURNED = Text("Đã nhận — cảm ơn.", "Returned — thank you.")
"""The wall screen's line for an item checked in and sorted."""

INTAKE_CLOSED = Text(
    "Các thùng đã đầy: tạm ngừng nhận tài liệu. Vui lòng trả tại quầy.",
    "The bins are full: returns are paused. Please return items at the desk.",
)
"""The wall screen when no bin can take items."""

BIN_FULL_STAFF = Text("Thùng {bin} đã đầy.", "Bin {bin} is full.")

REPLAY_HOLD = Text(
    "Tài liệu {item} đã vào thùng {bin}, nhưng đang có người đặt giữ — hãy lấy ra.",
    "Item {item} went to bin {bin}, it has a hold — fetch it.",
)
REPLAY_TRANSIT = Text(
    "Tài liệu {item} đã vào thùng {bin}, nhưng phải chuyển tới {destination} — hãy lấy ra.",
    "Item {item} went to bin {bin}, it must go to {destination} — fetch it.",
)
REPLAY_ILL = Text(
    "Tài liệu {item} đã vào thùng {bin}, nhưng là tài liệu mượn liên thư viện — hãy lấy ra.",
    "Item {item} went to bin {bin}, it is an interlibrary loan — fetch it.",
)
REPLAY_OTHER_BIN = Text(
    "Tài liệu {item} đã vào thùng {bin}, nhưng thuộc thùng {wanted}.",
    "Item {item} went to bin {bin}, it belongs in bin {wanted}.",
)
REPLAY_REFUSED = Text(
    "Tài liệu {item} đã vào thùng {bin}, nhưng hệ thống từ chối trả — hãy trả tại quầy.",
    "Item {item} went to bin {bin}, but the ILS refused the checkin — check it in at the desk.",
)

RECEIPT_NOT_OFFERED: dict[str, Text] = {
    "print": Text(
        "Máy này không in phiếu trên giấy: hãy chọn cách khác.",
        "This machine does not print receipts on paper: please choose another way.",
    ),
    "email": Text(
        "Máy này không gửi phiếu qua e-mail: hãy chọn cách khác.",
        "This machine does not send receipts by e-mail: please choose another way.",
    ),
    "qr": Text(
        "Máy này không hiện phiếu bằng mã QR: hãy chọn cách khác.",
        "This machine does not show receipts as a QR code: please choose another way.",
    ),
}
"""Why a receipt the site switched off (``[receipts] print/email/qr = false``) is refused."""

SLIP_TITLE = Text("Phiếu thùng {bin}: {name}", "Bin slip {bin}: {name}")
SLIP_EMPTIED = Text("Làm trống lúc {when}", "Emptied at {when}")
SLIP_COUNT = Text("{count} tài liệu", "{count} items")
SLIP_TO = Text("chuyển tới {destination}", "to {destination}")
