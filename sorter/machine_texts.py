"""What the return machine's service tells staff and patrons beyond the sort itself.

Kept apart from :mod:`sorter.texts` (the sort's words) so that each module
holds one subject; every text is in Vietnamese and English and none names a
patron.
"""

from __future__ import annotations

from sorter.texts import Text

LEFT_CHECKED_IN = Text(
    "Tài liệu {item} đã được trả nhưng chưa vào thùng khi máy dừng: "
    "tìm trên băng chuyền hoặc trong thùng ngoại lệ.",
    "Item {item} was checked in but not yet sorted when the machine stopped: "
    "it is on the belt or in the exception bin.",
)
LEFT_NOT_CHECKED_IN = Text(
    "Tài liệu {item} đã được đọc nhưng chưa trả khi máy dừng: "
    "tìm trên băng chuyền hoặc trong thùng ngoại lệ và trả tại quầy.",
    "Item {item} was read but not checked in when the machine stopped: "
    "it is on the belt or in the exception bin; check it in at the desk.",
)
FINISHED_LATE = Text(
    "Tài liệu {item} trong thùng ngoại lệ: hệ thống thư viện đã nhận trả sau, an ninh đã bật "
    "— chỉ cần xếp lên giá.",
    "Item {item} in the exception bin: the ILS checked it in afterwards and its security is "
    "set — just shelve it.",
)
FAILED_LATE = Text(
    "Tài liệu {item} trong thùng ngoại lệ: việc trả không thành (không có trả lời của hệ "
    "thống thư viện) — trả tại quầy.",
    "Item {item} in the exception bin: its checkin did not go through (the ILS could not be "
    "reached) — check it in at the desk.",
)
REFUSED_LATE = Text(
    "Tài liệu {item} trong thùng ngoại lệ: hệ thống thư viện từ chối trả ({message}) — "
    "xử lý tại quầy.",
    "Item {item} in the exception bin: the ILS refused the checkin ({message}) — "
    "see to it at the desk.",
)
SECURITY_LATE = Text(
    "Tài liệu {item} trong thùng ngoại lệ: hệ thống thư viện đã nhận trả sau (không trả lại "
    "lần nữa), nhưng chưa bật được an ninh vì nhãn đã rời vùng đọc — bật an ninh tại quầy.",
    "Item {item} in the exception bin: the ILS checked it in afterwards (do not check it in "
    "again), but its security could not be set as the tag had left the reader — set it at "
    "the desk.",
)
JAM_REROUTED = Text(
    "Tài liệu {item} đang trên băng chuyền khi bị kẹt: đã cho vào thùng ngoại lệ — kiểm tra lại.",
    "Item {item} was on the belt during a jam: it went to the exception bin — check it.",
)
LINK_REROUTED = Text(
    "Tài liệu {item} đang trên băng chuyền khi mất kết nối bộ điều khiển: "
    "đã cho vào thùng ngoại lệ — kiểm tra lại.",
    "Item {item} was on the belt while the controller's link was lost: "
    "it went to the exception bin — check it.",
)
UNEXPECTED_AT_END = Text(
    "Một tài liệu tới cuối băng chuyền mà không có trong danh sách: kiểm tra thùng ngoại lệ.",
    "An item reached the end of the belt unannounced: check the exception bin.",
)
TWO_AT_ONCE = Text(
    "Hai tài liệu vào cùng lúc ({items}): cả hai vào thùng ngoại lệ, chưa được trả.",
    "Two items went in at once ({items}): both went to the exception bin, not checked in.",
)
JAMMED = Text(
    "Băng chuyền bị kẹt: hãy gỡ tài liệu bị kẹt; máy sẽ tự chạy lại.",
    "The belt is jammed: clear the stuck item; the machine restarts on its own.",
)
LINK_LOST = Text(
    "Mất kết nối với bộ điều khiển băng chuyền: băng chuyền dừng, tạm ngừng nhận tài liệu.",
    "The link to the belt's controller is lost: the belt is stopped, returns are paused.",
)
PAUSED = Text(
    "Máy tạm dừng: vui lòng trả tại quầy.",
    "The machine is paused: please return items at the desk.",
)


def both(text: Text, **values: object) -> dict[str, str]:
    """``text`` filled in both languages, as events carry it."""
    return {"vi": text.format("vi", **values), "en": text.format("en", **values)}


def filled(text: Text, **values: object) -> Text:
    """``text`` with its placeholders filled, still in both languages (for the staff report)."""
    return Text(text.format("vi", **values), text.format("en", **values))
