"""Every word the staff console shows, in Vietnamese and English (plain data, as ui/i18n.py).

What central says about an alert (``text_vi``/``text_en``) arrives in both languages
and is shown as sent; this catalogue holds the console's own words.
"""

from __future__ import annotations

LANGUAGES = ("vi", "en")

CATALOG: dict[str, dict[str, str]] = {
    "title": {"vi": "Bàn điều hành thư viện", "en": "Library staff console"},
    "language": {"vi": "English", "en": "Tiếng Việt"},
    "login_title": {"vi": "Đăng nhập nhân viên", "en": "Staff sign-in"},
    "server": {"vi": "Máy chủ trung tâm", "en": "Central server"},
    "login": {"vi": "Tên đăng nhập", "en": "Login"},
    "password": {"vi": "Mật khẩu", "en": "Password"},
    "token": {"vi": "Mã truy cập (nếu có)", "en": "Access token (if given one)"},
    "sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "signed_in_as": {"vi": "Đang đăng nhập: {who}", "en": "Signed in: {who}"},
    "need_credentials": {
        "vi": "Nhập tên đăng nhập và mật khẩu, hoặc mã truy cập",
        "en": "Enter a login and password, or an access token",
    },
    "no_login_endpoint": {
        "vi": "Máy chủ này chưa hỗ trợ đăng nhập bằng mật khẩu: hãy xin bộ phận IT một mã truy cập",
        "en": "This central has no password sign-in yet: ask IT for an access token",
    },
    "session_ended": {
        "vi": "Phiên làm việc đã hết (máy chủ khởi động lại hoặc hết giờ): hãy đăng nhập lại",
        "en": "Your session has ended (central restarted or it expired): please sign in again",
    },
    "locked_out": {
        "vi": "Nhập sai mật khẩu quá nhiều lần: tài khoản tạm khoá, hãy thử lại sau hoặc gọi IT",
        "en": "Too many wrong passwords: sign-in is locked for a while; try later or call IT",
    },
    "bad_credentials": {
        "vi": "Sai tên đăng nhập, mật khẩu hoặc mã truy cập",
        "en": "Wrong login, password or token",
    },
    "unreachable": {
        "vi": "Không kết nối được máy chủ trung tâm",
        "en": "Central cannot be reached",
    },
    "loading": {"vi": "Đang tải…", "en": "Loading…"},
    "signing_in": {"vi": "Đang đăng nhập…", "en": "Signing in…"},
    "no_answer": {
        "vi": "Máy chủ trung tâm không trả lời: hãy thử lại sau",
        "en": "Central does not answer: try again later",
    },
    "central_refused": {
        "vi": "Máy chủ trung tâm từ chối: {why}",
        "en": "Central refused: {why}",
    },
    "console_failed": {
        "vi": "Bàn điều hành gặp lỗi ({why}): hãy báo bộ phận IT",
        "en": "The console failed ({why}): please tell IT",
    },
    "tab_alarms": {"vi": "Báo động", "en": "Alarms"},
    "tab_fleet": {"vi": "Thiết bị", "en": "Devices"},
    "tab_device": {"vi": "Chi tiết thiết bị", "en": "Device detail"},
    "tab_bins": {"vi": "Thùng phân loại", "en": "Sorting bins"},
    "tab_charts": {"vi": "Thống kê", "en": "Statistics"},
    "col_time": {"vi": "Thời gian", "en": "Time"},
    "col_site": {"vi": "Thư viện", "en": "Site"},
    "col_gate": {"vi": "Cổng / thiết bị", "en": "Gate / device"},
    "col_item": {"vi": "Mã tài liệu", "en": "Item id"},
    "col_title": {"vi": "Nhan đề", "en": "Title"},
    "col_alert": {"vi": "Cảnh báo", "en": "Alert"},
    "col_acked": {"vi": "Đã xác nhận", "en": "Acknowledged"},
    "acknowledge": {"vi": "Xác nhận", "en": "Acknowledge"},
    "acked_by": {"vi": "{who} lúc {time}", "en": "{who} at {time}"},
    "open_alarms": {"vi": "{count} báo động chưa xác nhận", "en": "{count} alarms to acknowledge"},
    "live": {"vi": "Đang nhận trực tiếp", "en": "Live"},
    "reconnecting": {
        "vi": "Mất kết nối trực tiếp, đang thử lại…",
        "en": "Live link lost, retrying…",
    },
    "ack_refused": {
        "vi": "Không xác nhận được: {why}",
        "en": "Could not acknowledge: {why}",
    },
    "not_available": {
        "vi": "Chưa có dữ liệu: máy chủ trung tâm chưa cung cấp mục này",
        "en": "Not available: central does not serve this yet",
    },
    "refresh": {"vi": "Làm mới", "en": "Refresh"},
    "col_device": {"vi": "Thiết bị", "en": "Device"},
    "col_role": {"vi": "Loại", "en": "Kind"},
    "col_health": {"vi": "Trạng thái", "en": "Health"},
    "col_offline_since": {"vi": "Mất kết nối từ", "en": "Offline since"},
    "col_reader": {"vi": "Đầu đọc", "en": "Reader"},
    "col_ils": {"vi": "Kết nối ILS", "en": "ILS link"},
    "col_queue": {"vi": "Hàng đợi", "en": "Queue"},
    "online": {"vi": "Trực tuyến", "en": "Online"},
    "offline": {"vi": "Mất kết nối", "en": "Offline"},
    "unknown": {"vi": "Không rõ", "en": "Unknown"},
    "site_heading": {"vi": "Thư viện {site}", "en": "Site {site}"},
    "choose_device": {
        "vi": "Chọn một thiết bị trong danh sách để xem chi tiết",
        "en": "Choose a device in the list to see its detail",
    },
    "recent_events": {"vi": "Sự kiện gần đây", "en": "Recent events"},
    "recent_commands": {"vi": "Lệnh gần đây", "en": "Recent commands"},
    "col_event": {"vi": "Sự kiện", "en": "Event"},
    "col_detail": {"vi": "Chi tiết", "en": "Detail"},
    "col_command": {"vi": "Lệnh", "en": "Command"},
    "col_who": {"vi": "Người gửi", "en": "Sent by"},
    "col_outcome": {"vi": "Kết quả", "en": "Outcome"},
    "pending": {"vi": "Đang chờ thiết bị trả lời", "en": "Waiting for the device"},
    "col_bin": {"vi": "Thùng", "en": "Bin"},
    "col_level": {"vi": "Mức đầy", "en": "Fill"},
    "col_state": {"vi": "Tình trạng", "en": "State"},
    "no_bins": {
        "vi": "Không có máy trả sách nào báo thùng",
        "en": "No return machine reports bins",
    },
    "today": {"vi": "Hôm nay", "en": "Today"},
    "period": {"vi": "Khoảng thời gian", "en": "Period"},
    "from": {"vi": "Từ", "en": "From"},
    "to": {"vi": "Đến", "en": "To"},
    "show": {"vi": "Xem", "en": "Show"},
    "site": {"vi": "Thư viện", "en": "Site"},
    "per_hour": {"vi": "Mượn và trả theo giờ", "en": "Checkouts and returns per hour"},
    "per_day": {"vi": "Mượn và trả theo ngày", "en": "Checkouts and returns per day"},
    "gate_counts": {"vi": "Lượt qua cổng", "en": "Gate counts"},
    "checkouts": {"vi": "Mượn", "en": "Checkouts"},
    "returns": {"vi": "Trả", "en": "Returns"},
    "people_in": {"vi": "Vào", "en": "In"},
    "people_out": {"vi": "Ra", "en": "Out"},
    "hour": {"vi": "Giờ", "en": "Hour"},
    "day": {"vi": "Ngày", "en": "Day"},
    "totals": {
        "vi": "Tổng: {checkouts} lượt mượn, {returns} lượt trả, {people_in} lượt vào",
        "en": "Total: {checkouts} checkouts, {returns} returns, {people_in} in",
    },
    "bad_period": {
        "vi": "Khoảng thời gian không hợp lệ (tối đa 62 ngày)",
        "en": "Not a valid period (at most 62 days)",
    },
    # --- commands (ui/console/command_panel.py) ---
    "command": {"vi": "Lệnh:", "en": "Command:"},
    "send": {"vi": "Gửi lệnh", "en": "Send"},
    "cmd_lock": {"vi": "Khoá máy", "en": "Lock"},
    "cmd_unlock": {"vi": "Mở khoá máy", "en": "Unlock"},
    "cmd_message": {"vi": "Gửi thông báo", "en": "Show a message"},
    "cmd_empty_bin": {"vi": "Đã dọn thùng", "en": "Bin emptied"},
    "cmd_reload": {"vi": "Nạp lại cấu hình", "en": "Reload configuration"},
    "message_text": {"vi": "Nội dung thông báo", "en": "Message text"},
    "message_needed": {"vi": "Hãy nhập nội dung thông báo", "en": "Enter the message text"},
    "no_commands": {
        "vi": "Vai trò của bạn chỉ được xem, không được gửi lệnh",
        "en": "Your role may look but not send commands",
    },
    "sending": {
        "vi": "Đang gửi lệnh {command} tới {device}…",
        "en": "Sending {command} to {device}…",
    },
    "command_refused": {"vi": "Lệnh không được gửi: {why}", "en": "Command not sent: {why}"},
    "waiting_device": {"vi": "đang chờ thiết bị trả lời", "en": "waiting for the device"},
    "outcome_ok": {"vi": "đã thực hiện", "en": "done"},
    "outcome_failed": {"vi": "thiết bị báo lỗi", "en": "the device failed"},
    "outcome_timeout": {"vi": "thiết bị không trả lời", "en": "no answer from the device"},
    "audit_entry": {
        "vi": "Nhật ký #{id} {time} {actor}: {command} {device} — {result}",
        "en": "Audit #{id} {time} {actor}: {command} {device} — {result}",
    },
}


def text(key: str, language: str, **values: object) -> str:
    """The catalogue's words for ``key`` in ``language``, with ``values`` filled in."""
    words = CATALOG[key].get(language) or CATALOG[key]["en"]
    return words.format(**values) if values else words
