"""Every word the touchscreen shows, in Vietnamese and English, as plain Python data.

Kept as a dict rather than Qt .ts files so a test can check that no key lacks
a language, and the viewmodels can build text without Qt. What the engine
says about an item or a refusal arrives already in both languages and is
shown as sent; this catalogue holds only the screen's own words.
"""

from __future__ import annotations

LANGUAGES = ("vi", "en")

CATALOG: dict[str, dict[str, str]] = {
    "app_title": {"vi": "Mượn trả tự động", "en": "Self-service loans"},
    "welcome_title": {"vi": "Xin chào!", "en": "Welcome!"},
    "welcome_hint": {
        "vi": "Chọn ngôn ngữ, rồi chọn việc bạn muốn làm",
        "en": "Choose a language, then what you want to do",
    },
    "language_vi": {"vi": "Tiếng Việt", "en": "Tiếng Việt"},
    "language_en": {"vi": "English", "en": "English"},
    "borrow": {"vi": "Mượn sách", "en": "Borrow"},
    "return": {"vi": "Trả sách", "en": "Return"},
    "my_account": {"vi": "Tài khoản của tôi", "en": "My account"},
    "how_to": {"vi": "Cách dùng", "en": "How to use"},
    "step_card": {"vi": "1. Quét hoặc chạm thẻ", "en": "1. Scan or tap your card"},
    "step_pin": {"vi": "2. Nhập mã PIN", "en": "2. Enter your PIN"},
    "step_pad": {"vi": "3. Đặt sách lên bàn đọc", "en": "3. Lay your books on the pad"},
    "step_receipt": {"vi": "4. Nhận biên lai", "en": "4. Take your receipt"},
    "identify_title": {"vi": "Cho biết bạn là ai", "en": "Tell us who you are"},
    "identify_hint": {
        "vi": "Quét mã vạch thẻ, chạm thẻ vào đầu đọc, hoặc gõ số thẻ",
        "en": "Scan your card's barcode, tap it on the reader, or type its number",
    },
    "type_number": {"vi": "Gõ số thẻ", "en": "Type my number"},
    "card_number": {"vi": "Số thẻ bạn đọc", "en": "Library card number"},
    "pin_title": {"vi": "Nhập mã PIN", "en": "Enter your PIN"},
    "ok": {"vi": "Đồng ý", "en": "OK"},
    "clear": {"vi": "Xoá", "en": "Clear"},
    "back": {"vi": "Quay lại", "en": "Back"},
    "cancel": {"vi": "Huỷ", "en": "Cancel"},
    "hello": {"vi": "Xin chào {name}", "en": "Hello {name}"},
    "hello_anonymous": {"vi": "Xin chào", "en": "Hello"},
    "offline_session": {
        "vi": "Đang ngoại tuyến: giao dịch sẽ được đồng bộ sau",
        "en": "Offline: your loans will be synced later",
    },
    "place_items": {
        "vi": "Đặt sách lên bàn đọc — mỗi cuốn sẽ hiện ở đây",
        "en": "Lay your books on the pad — each one appears here",
    },
    "place_returns": {
        "vi": "Đặt sách cần trả lên bàn đọc",
        "en": "Lay the books you are returning on the pad",
    },
    "return_title": {"vi": "Trả sách", "en": "Returns"},
    "processing": {"vi": "Đang xử lý…", "en": "Working…"},
    "due": {"vi": "Hạn trả: {date}", "en": "Due: {date}"},
    "done": {"vi": "Xong", "en": "Done"},
    "finish": {"vi": "Kết thúc", "en": "Finish"},
    "items_count": {"vi": "{count} tài liệu", "en": "{count} items"},
    "needs_attention": {
        "vi": "{count} tài liệu cần bạn xử lý",
        "en": "{count} items need your attention",
    },
    "account_title": {"vi": "Tài khoản", "en": "Account"},
    "loans": {"vi": "Đang mượn", "en": "On loan"},
    "no_loans": {"vi": "Bạn không mượn tài liệu nào", "en": "You have nothing on loan"},
    "renew": {"vi": "Gia hạn", "en": "Renew"},
    "renew_all": {"vi": "Gia hạn tất cả", "en": "Renew all"},
    "holds_ready": {"vi": "Sách đặt giữ đã sẵn sàng", "en": "Holds ready for you"},
    "no_holds": {"vi": "Không có", "en": "None"},
    "fines": {"vi": "Tiền phạt", "en": "Fines"},
    "no_fines": {"vi": "Không nợ", "en": "Nothing owed"},
    "loading": {"vi": "Đang tải…", "en": "Loading…"},
    "receipt_title": {
        "vi": "Bạn muốn nhận biên lai thế nào?",
        "en": "How do you want your receipt?",
    },
    "summary_line": {
        "vi": "Đã mượn {ok} tài liệu, {failed} không mượn được",
        "en": "{ok} items checked out, {failed} not",
    },
    "summary_checking": {
        "vi": "; {checking} tài liệu đang được kiểm tra với thư viện",
        "en": "; {checking} being checked with the library",
    },
    "receipt_print": {"vi": "In", "en": "Print"},
    "receipt_email": {"vi": "Gửi e-mail", "en": "E-mail"},
    "receipt_qr": {"vi": "Mã QR", "en": "QR code"},
    "receipt_none": {"vi": "Không cần", "en": "No receipt"},
    "receipt_qr_hint": {
        "vi": "Quét mã này bằng điện thoại để lưu biên lai",
        "en": "Scan this code with your phone to keep the receipt",
    },
    "receipt_failed": {
        "vi": "Không gửi được biên lai — hãy chọn cách khác",
        "en": "The receipt could not be delivered — choose another way",
    },
    "goodbye_title": {"vi": "Cảm ơn bạn!", "en": "Thank you!"},
    "goodbye_hint": {"vi": "Hẹn gặp lại", "en": "See you again"},
    "goodbye_timeout": {
        "vi": "Phiên đã kết thúc vì không có thao tác",
        "en": "The session ended because nothing happened for a while",
    },
    "goodbye_card_removed": {
        "vi": "Phiên đã kết thúc vì thẻ đã được rút ra",
        "en": "The session ended because the card was taken away",
    },
    "goodbye_reset": {"vi": "Phiên đã được thủ thư kết thúc", "en": "Staff ended the session"},
    "still_here": {"vi": "Tôi vẫn đang dùng", "en": "I'm still here"},
    "idle_title": {"vi": "Bạn còn đó không?", "en": "Are you still there?"},
    "out_of_service": {"vi": "Tạm ngừng phục vụ", "en": "Out of service"},
    "out_of_service_hint": {
        "vi": "Xin lỗi, máy đang tạm ngừng. Hãy hỏi thủ thư.",
        "en": "Sorry, this kiosk is paused. Please ask staff.",
    },
    "reconnecting": {"vi": "Đang kết nối lại…", "en": "Reconnecting…"},
    "staff": {"vi": "Nhân viên", "en": "Staff"},
    "staff_pin_title": {"vi": "Mã PIN nhân viên", "en": "Staff PIN"},
    "staff_pin_wrong": {"vi": "Mã PIN nhân viên không đúng", "en": "Wrong staff PIN"},
    "staff_locked": {
        "vi": "Nhập sai mã PIN nhân viên quá nhiều lần. Thử lại sau {seconds} giây",
        "en": "Too many wrong staff PINs. Try again in {seconds} s",
    },
    "staff_disabled": {
        "vi": "Chưa đặt mã PIN nhân viên (MUONTRA_STAFF_PIN)",
        "en": "No staff PIN is set (MUONTRA_STAFF_PIN)",
    },
    "staff_title": {"vi": "Chế độ nhân viên", "en": "Staff mode"},
    "staff_out_of_service": {"vi": "Ngừng phục vụ", "en": "Out of service"},
    "staff_in_service": {"vi": "Phục vụ trở lại", "en": "Back in service"},
    "staff_reset": {"vi": "Đặt lại phiên", "en": "Reset session"},
    "staff_refresh": {"vi": "Làm mới", "en": "Refresh"},
    "staff_exit": {"vi": "Thoát", "en": "Exit"},
    "status_reader": {"vi": "Bàn đọc RFID", "en": "RFID pad"},
    "status_ils": {"vi": "Hệ thống thư viện", "en": "Library system"},
    "status_mode": {"vi": "Chế độ", "en": "Mode"},
    "status_queue": {"vi": "Giao dịch chờ đồng bộ", "en": "Offline queue"},
    "status_attention": {"vi": "Cần thủ thư xử lý", "en": "Needs staff"},
    "status_in_flight": {"vi": "Đang xử lý", "en": "In flight"},
    "online": {"vi": "Trực tuyến", "en": "Online"},
    "offline": {"vi": "Ngoại tuyến", "en": "Offline"},
    "sim_panel": {"vi": "Bảng mô phỏng", "en": "Simulator panel"},
    "sim_place": {"vi": "Đặt", "en": "Place"},
    "sim_remove": {"vi": "Nhấc", "en": "Remove"},
    "sim_clear": {"vi": "Dọn bàn đọc", "en": "Clear pad"},
    "sim_card": {"vi": "Chạm thẻ", "en": "Tap card"},
    "sim_card_remove": {"vi": "Rút thẻ", "en": "Remove card"},
    "sim_scan": {"vi": "Quét mã", "en": "Scan code"},
    "sim_unplug": {"vi": "Rút đầu đọc", "en": "Unplug reader"},
    "sim_plug": {"vi": "Cắm đầu đọc", "en": "Plug reader in"},
    "sim_ils_down": {"vi": "Ngắt hệ thống thư viện", "en": "Take the ILS down"},
    "sim_ils_up": {"vi": "Bật lại hệ thống thư viện", "en": "Bring the ILS back"},
    "sim_set": {"vi": "Bộ {index}/{size}", "en": "Part {index}/{size}"},
    "sim_ils_note": {
        "vi": "Lỗi ILS: chỉ với ILS mô phỏng (sip2+sim:// hoặc muontra demo)",
        "en": "ILS faults: only with a simulated ILS (sip2+sim:// or muontra demo)",
    },
    # --- the return machine's wall screen (ui/viewmodels/sorter.py, ui/qml/Sorter*.qml) ---
    "sorter_title": {"vi": "Trả sách", "en": "Book return"},
    "sorter_hint": {
        "vi": "Đưa từng tài liệu vào khe, mỗi lần một cuốn",
        "en": "Put your items in the slot one at a time",
    },
    "sorter_waiting": {
        "vi": "Mỗi tài liệu sẽ hiện ở đây khi được nhận",
        "en": "Each item appears here as it is received",
    },
    "sorter_returned": {"vi": "Đã nhận — cảm ơn", "en": "Returned — thank you"},
    "sorter_count": {"vi": "Đã nhận {count} tài liệu", "en": "{count} items returned"},
    "sorter_to_staff": {
        "vi": "{count} tài liệu thủ thư sẽ kiểm tra",
        "en": "{count} items will be checked by staff",
    },
    "sorter_receipt": {"vi": "Lấy biên lai", "en": "Receipt"},
    "sorter_done": {"vi": "Xong", "en": "Done"},
    "sorter_closed_title": {"vi": "Tạm ngừng nhận sách", "en": "Returns are closed"},
    "sorter_closed_hint": {
        "vi": "Các thùng đã đầy. Vui lòng trả sách tại quầy thủ thư.",
        "en": "The bins are full. Please return your items at the desk.",
    },
    "sorter_paused_title": {"vi": "Máy đang tạm dừng", "en": "The machine is paused"},
    "sorter_paused_hint": {
        "vi": "Xin chờ một chút, hoặc trả sách tại quầy thủ thư.",
        "en": "Please wait a moment, or return your items at the desk.",
    },
    "sorter_out_of_service_hint": {
        "vi": "Xin lỗi, máy đang tạm ngừng. Vui lòng trả sách tại quầy thủ thư.",
        "en": "Sorry, this machine is out of service. Please return your items at the desk.",
    },
    "sorter_starting": {"vi": "Máy đang khởi động…", "en": "The machine is starting…"},
    "sorter_email_title": {"vi": "Nhập địa chỉ e-mail", "en": "Type your e-mail address"},
    "sorter_email_send": {"vi": "Gửi", "en": "Send"},
    "sorter_email_invalid": {
        "vi": "Địa chỉ e-mail chưa đúng",
        "en": "That e-mail address is not complete",
    },
    "sorter_thanks_hint": {
        "vi": "Sách của bạn đã được nhận. Hẹn gặp lại!",
        "en": "Your items have been received. See you again!",
    },
    "sorter_staff_title": {"vi": "Máy trả sách — nhân viên", "en": "Return machine — staff"},
    "sorter_machine": {"vi": "Máy", "en": "Machine"},
    "sorter_bins": {"vi": "Thùng", "en": "Bins"},
    "sorter_state": {"vi": "Trạng thái", "en": "State"},
    "sorter_state_running": {"vi": "Đang chạy", "en": "Running"},
    "sorter_state_paused": {"vi": "Tạm dừng", "en": "Paused"},
    "sorter_state_stopped": {"vi": "Đã dừng", "en": "Stopped"},
    "sorter_state_intake_closed": {"vi": "Đóng khe nhận", "en": "Intake closed"},
    "sorter_state_plc_lost": {"vi": "Mất kết nối PLC", "en": "PLC lost"},
    "sorter_state_starting": {"vi": "Đang khởi động", "en": "Starting"},
    "sorter_belt": {"vi": "Băng chuyền", "en": "Belt"},
    "sorter_belt_running": {"vi": "Đang chạy", "en": "Running"},
    "sorter_belt_stopped": {"vi": "Đứng yên", "en": "Stopped"},
    "sorter_plc": {"vi": "Bộ điều khiển (PLC)", "en": "Controller (PLC)"},
    "sorter_link_ok": {"vi": "Kết nối tốt", "en": "Connected"},
    "sorter_link_lost": {"vi": "Mất kết nối", "en": "Lost"},
    "sorter_intake": {"vi": "Khe nhận", "en": "Intake"},
    "sorter_intake_open": {"vi": "Mở", "en": "Open"},
    "sorter_intake_shut": {"vi": "Đóng", "en": "Closed"},
    "sorter_drop": {"vi": "Lượt trả hiện tại", "en": "Current drop"},
    "sorter_fill": {"vi": "{count} / {capacity}", "en": "{count} / {capacity}"},
    "sorter_full": {"vi": "ĐẦY", "en": "FULL"},
    "sorter_role_hold": {"vi": "đặt giữ", "en": "holds"},
    "sorter_role_transit": {"vi": "luân chuyển", "en": "transit"},
    "sorter_role_ill": {"vi": "mượn liên thư viện", "en": "interlibrary loan"},
    "sorter_role_overflow": {"vi": "dự phòng", "en": "overflow"},
    "sorter_role_exception": {"vi": "ngoại lệ", "en": "exceptions"},
    "sorter_empty": {"vi": "Làm trống", "en": "Empty"},
    "sorter_confirm_empty": {
        "vi": "Làm trống “{bin}” ({count} tài liệu)? Phiếu thùng sẽ được in.",
        "en": "Empty “{bin}” ({count} items)? Its slip will be printed.",
    },
    "sorter_confirm_yes": {"vi": "Đã lấy hết, làm trống", "en": "Emptied, reset it"},
    "sorter_emptied": {
        "vi": "Đã làm trống “{bin}”: {count} tài liệu, phiếu đã in",
        "en": "“{bin}” emptied: {count} items, slip printed",
    },
    "sorter_emptied_unprinted": {
        "vi": "Đã làm trống “{bin}”: {count} tài liệu; không in được phiếu (đã lưu danh sách)",
        "en": "“{bin}” emptied: {count} items; the slip did not print (the list is saved)",
    },
    "sorter_pause": {"vi": "Tạm dừng máy", "en": "Pause"},
    "sorter_resume": {"vi": "Chạy tiếp", "en": "Resume"},
    "sorter_exceptions_n": {"vi": "Ngoại lệ ({count})", "en": "Exceptions ({count})"},
    "sorter_report_n": {"vi": "Báo cáo ({count})", "en": "Report ({count})"},
    "sorter_exceptions_title": {"vi": "Tài liệu ngoại lệ", "en": "Exceptions"},
    "sorter_report_title": {"vi": "Việc cần làm", "en": "Staff report"},
    "sorter_no_exceptions": {"vi": "Không có tài liệu ngoại lệ", "en": "No exceptions"},
    "sorter_no_report": {"vi": "Không có việc cần làm", "en": "Nothing to do"},
    "sorter_in_bin": {"vi": "{bin} · {when}", "en": "{bin} · {when}"},
}


def tr(key: str, language: str, **values: object) -> str:
    """The text for ``key`` in ``language``; a missing key shows itself rather than crash."""
    entry = CATALOG.get(key)
    if entry is None:
        return key
    template = entry.get(language) or entry.get("vi") or key
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template


def table(language: str) -> dict[str, str]:
    """Every text of one language, for QML to bind to (``tr.welcome_title``)."""
    return {key: tr(key, language) for key in CATALOG}
