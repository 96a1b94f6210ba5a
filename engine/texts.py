"""What the patron reads, in Vietnamese and English, keyed by outcome code.

The engine sends codes plus both texts; the ILS's own screen messages (AF) are
passed on verbatim beside them, never replaced.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "checked_out": ("Đã mượn", "Checked out"),
    "returned": ("Đã trả", "Returned"),
    "already_yours": ("Bạn đã mượn tài liệu này", "Already on loan to you"),
    "already_returned": ("Tài liệu này đã được trả", "Already returned"),
    "renewed": ("Đã gia hạn", "Renewed"),
    "ils_refused": ("Thư viện không cho mượn tài liệu này", "The library refused this item"),
    "checkin_refused": ("Thư viện không nhận trả tài liệu này", "The library refused this return"),
    "renew_refused": ("Không gia hạn được", "Could not renew"),
    "reposition": ("Hãy nhấc tài liệu lên rồi đặt lại", "Take it off and put it back"),
    "tag_unreadable": (
        "Không đọc được nhãn RFID — hãy nhấc lên rồi đặt lại",
        "The RFID tag cannot be read — take it off and put it back",
    ),
    "unknown_model": (
        "Nhãn RFID không thuộc thư viện — hãy hỏi thủ thư",
        "This tag is not a library tag — please ask staff",
    ),
    "foreign_item": (
        "Tài liệu này không thuộc thư viện của chúng tôi",
        "This item does not belong to our library",
    ),
    "missing_part": (
        "Thiếu phần {missing} của bộ {parts} phần — hãy đặt đủ các phần",
        "Part {missing} of this {parts}-part set is missing — place every part",
    ),
    "security_failed": (
        "Chưa gỡ được từ tính — hãy đặt lại tài liệu lên bàn đọc",
        "Security not released — put the item back on the pad",
    ),
    "security_locked": (
        "Nhãn bị khoá — tài liệu đã được trả lại, hãy hỏi thủ thư",
        "The tag is locked — the loan was undone, please ask staff",
    ),
    "security_undone": (
        "Không gỡ được từ tính — đã huỷ mượn tài liệu này, hãy hỏi thủ thư",
        "Security could not be released — the loan was undone, please ask staff",
    ),
    "security_staff": (
        "Không đặt được từ tính — thủ thư sẽ xử lý tài liệu này",
        "Security could not be set — staff will see to this item",
    ),
    "internal_error": (
        "Máy gặp sự cố với tài liệu này — hãy hỏi thủ thư",
        "Something went wrong with this item — please ask staff",
    ),
    "being_checked": (
        "Đang kiểm tra tài liệu này với hệ thống thư viện — xin chờ hoặc hỏi thủ thư",
        "This item is being checked with the library system — please wait or ask staff",
    ),
    "ils_unavailable": (
        "Hệ thống thư viện không trả lời — hãy hỏi thủ thư",
        "The library system does not answer — please ask staff",
    ),
    "offline_limit": (
        "Đang ngoại tuyến: đã đạt giới hạn mượn",
        "Offline: the borrowing limit is reached",
    ),
    "offline_checked_out": (
        "Đã mượn (ngoại tuyến, sẽ đồng bộ sau)",
        "Checked out (offline, will sync later)",
    ),
    "offline_returned": (
        "Đã trả (ngoại tuyến, sẽ đồng bộ sau)",
        "Returned (offline, will sync later)",
    ),
    "wrong_pin": ("Mã PIN không đúng", "Wrong PIN"),
    "pin_locked": (
        "Nhập sai PIN quá nhiều lần — hãy hỏi thủ thư",
        "Too many wrong PINs — please ask staff",
    ),
    "patron_unknown": ("Không tìm thấy bạn đọc", "Patron not found"),
    "receipt_not_offered": (
        "Máy này không có cách nhận biên lai đó — hãy chọn cách khác",
        "This machine does not offer that kind of receipt — please choose another",
    ),
    "patron_id_invalid": (
        "Không đọc được mã thẻ này — hãy hỏi thủ thư",
        "This card number cannot be used — please ask staff",
    ),
    "pin_invalid": (
        "Mã PIN có ký tự không hợp lệ — hãy nhập lại",
        "The PIN has characters that are not allowed — please type it again",
    ),
    "item_id_invalid": (
        "Mã tài liệu trên nhãn không hợp lệ — hãy đưa cho thủ thư",
        "The item number on this tag is not valid — please give it to staff",
    ),
    "patron_blocked": ("Thẻ bạn đọc đang bị khoá", "This library card is blocked"),
    "not_allowed_offline": (
        "Đang ngoại tuyến: không mượn được bằng thẻ này",
        "Offline: this card cannot borrow right now",
    ),
    "idle_warning": (
        "Bạn còn đó không? Phiên sẽ kết thúc sau {seconds} giây",
        "Are you still there? The session ends in {seconds} seconds",
    ),
    "hold_for_other": (
        "Có bạn đọc khác đang đặt giữ tài liệu này — để ở quầy",
        "Another patron is waiting for this item — leave it at the desk",
    ),
    "transit": ("Tài liệu cần chuyển về {destination}", "This item goes to {destination}"),
    "unknown_language": ("Ngôn ngữ này chưa có", "This language is not available"),
    "unknown_action": ("Thao tác không hợp lệ", "Unknown action"),
    "return_not_here": ("Máy này không nhận trả sách", "This kiosk does not take returns"),
    "already_out": ("Tài liệu này đang được mượn", "This item is already on loan"),
}


def text(code: str, language: str = "vi", **values: object) -> str:
    vi, en = TEXTS.get(code, (code, code))
    template = en if language == "en" else vi
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template


def both(code: str, **values: object) -> dict[str, str]:
    return {"code": code, "vi": text(code, "vi", **values), "en": text(code, "en", **values)}
