"""What staff read about an alert, in Vietnamese and English (the console shows either).

One line per rule; ``{device}`` and ``{subject}`` (the item id, the reader, the bin)
are filled in. No text here ever holds a patron's data: an alert knows none (a card
is named by its ``patron_ref``, a keyed hash).

A security alert's line (:data:`SECURITY_TEXTS`, one per threat) also says what to
do; docs/central-security.md says more. A site-wide alert (central's joins of several
devices) has no device: the line names the site instead.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["SECURITY_TEXTS", "TEXTS", "alert_text"]

Language = Literal["vi", "en"]

TEXTS: dict[str, dict[Language, str]] = {
    "gate_alarm": {
        "vi": "Cổng {device} báo động: tài liệu {subject} chưa được mượn",
        "en": "Gate {device} alarm: item {subject} is not checked out",
    },
    "offline": {
        "vi": "{device} mất kết nối",
        "en": "{device} is offline",
    },
    "reader_unavailable": {
        "vi": "{device}: đầu đọc {subject} không hoạt động",
        "en": "{device}: reader {subject} is unavailable",
    },
    "printer_unavailable": {
        "vi": "{device}: máy in không hoạt động",
        "en": "{device}: the printer is unavailable",
    },
    "paper_low": {
        "vi": "{device}: máy in sắp hết giấy",
        "en": "{device}: the printer's paper is low",
    },
    "bin_full": {
        "vi": "{device}: thùng {subject} đã đầy, cần dọn",
        "en": "{device}: bin {subject} is full, please empty it",
    },
    "queue_growing": {
        "vi": "{device}: hàng đợi ngoại tuyến đang tăng",
        "en": "{device}: its offline queue is growing",
    },
    "security_write_failed": {
        "vi": "{device}: không đặt được bảo mật cho tài liệu {subject}",
        "en": "{device}: could not set the security of item {subject}",
    },
}


SECURITY_TEXTS: dict[str, dict[Language, str]] = {
    "pin_guessing": {
        "vi": "{device}: sai PIN với nhiều thẻ liên tiếp, có thể đang dò PIN; ra xem máy "
        "và người đang dùng",
        "en": "{device}: wrong PINs for many cards, someone may be guessing PINs; go and see "
        "the kiosk and who is at it",
    },
    "pin_wrong": {
        "vi": "{device}: thẻ {subject} bị nhập sai PIN nhiều lần",
        "en": "{device}: card {subject} had wrong PINs again and again",
    },
    "card_across_kiosks": {
        "vi": "{device}: thẻ {subject} bị nhập sai PIN ở nhiều máy mượn, có thể thẻ bị lấy "
        "cắp; khóa thẻ trong hệ thống thư viện và liên hệ bạn đọc",
        "en": "{device}: card {subject} had wrong PINs at several kiosks, it may be stolen; "
        "block it in the library system and contact its owner",
    },
    "cloned_tag": {
        "vi": "{device}: tài liệu {subject} có hai nhãn RFID khác nhau, có thể nhãn bị sao "
        "chép; tìm cả hai bản và kiểm tra",
        "en": "{device}: item {subject} was seen with two different RFID tags, one may be "
        "cloned; find both copies and check them",
    },
    "tag_data_mismatch": {
        "vi": "{device}: nhãn {subject} có dữ liệu sai mẫu, có thể là nhãn giả; giữ tài liệu "
        "lại và kiểm tra",
        "en": "{device}: tag {subject} holds data muontra did not write, it may be forged; "
        "hold the item and check it",
    },
    "unknown_item_repeated": {
        "vi": "{device}: mã tài liệu {subject} không có trong hệ thống mà xuất hiện nhiều lần; "
        "kiểm tra nhãn",
        "en": "{device}: item id {subject}, unknown to the library system, keeps showing up; "
        "check its tag",
    },
    "on_loan_secured": {
        "vi": "{device}: tài liệu {subject} đang được mượn mà nhãn lại bị khóa; kiểm tra nhãn",
        "en": "{device}: item {subject} is on loan but its tag was secured again; check the tag",
    },
    "unsecured_not_on_loan": {
        "vi": "{device}: tài liệu {subject} chưa mượn mà nhãn không khóa, qua cổng nhiều lần; "
        "khóa lại nhãn và kiểm tra",
        "en": "{device}: item {subject}, not on loan, passed unsecured more than once; "
        "secure its tag and check it",
    },
    "foreign_afi": {
        "vi": "{device}: nhãn {subject} có mã AFI lạ, không phải của thư viện; kiểm tra nhãn",
        "en": "{device}: tag {subject} has an AFI that is not the library's; check the tag",
    },
    "device_unplugged": {
        "vi": "{device}: {subject} bị rút ra trong giờ mở cửa; kiểm tra dây nối và người "
        "đứng gần máy",
        "en": "{device}: {subject} was unplugged during opening hours; check its cable and "
        "who is near the machine",
    },
    "case_opened": {
        "vi": "{device}: vỏ máy ({subject}) bị mở; ra kiểm tra ngay",
        "en": "{device}: its case ({subject}) was opened; go and check at once",
    },
    "config_changed": {
        "vi": "{device}: tệp cấu hình bị sửa ngoài lệnh reload; kiểm tra ai đã sửa",
        "en": "{device}: its config file changed outside a reload; find out who changed it",
    },
    "clock_jump": {
        "vi": "{device}: đồng hồ bị nhảy; kiểm tra nguồn giờ (NTP)",
        "en": "{device}: its clock jumped; check its time source (NTP)",
    },
    "sip2_login_refused": {
        "vi": "{device}: hệ thống thư viện từ chối đăng nhập SIP2; kiểm tra tài khoản SIP2",
        "en": "{device}: the library system refused its SIP2 login; check the SIP2 account",
    },
    "tls_unverified": {
        "vi": "{device}: chứng chỉ TLS của {subject} không hợp lệ, có thể bị nghe lén; kiểm "
        "tra mạng và chứng chỉ",
        "en": "{device}: the TLS certificate of {subject} did not verify, the link may be "
        "intercepted; check the network and the certificate",
    },
    "mqtt_login_failed": {
        "vi": "{device}: broker MQTT từ chối đăng nhập nhiều lần; kiểm tra mật khẩu thiết bị",
        "en": "{device}: the MQTT broker refused its login again and again; check its password",
    },
    "api_peer_refused": {
        "vi": "{device}: một người dùng lạ (uid {subject}) gọi API nội bộ; kiểm tra máy",
        "en": "{device}: an unexpected user (uid {subject}) used the local API; check the machine",
    },
    "command_refused": {
        "vi": "{device}: từ chối một lệnh ({subject}), có thể có người giả lệnh; kiểm tra "
        "broker và khóa ký lệnh",
        "en": "{device}: refused a command ({subject}), someone may be forging commands; check "
        "the broker and the command key",
    },
    "broker_logins_refused": {
        "vi": "Broker MQTT từ chối đăng nhập nhiều lần, có thể có người đang dò mật khẩu; xem "
        "nhật ký của broker (địa chỉ nguồn) và chặn nếu cần",
        "en": "The MQTT broker refused many logins, someone may be guessing passwords; read "
        "the broker's log for the addresses and block them if need be",
    },
    "security": {
        "vi": "{device}: cảnh báo an ninh {subject}; xem tài liệu an ninh",
        "en": "{device}: security warning {subject}; see the security documentation",
    },
}

_SITE: dict[Language, str] = {"vi": "Cả cơ sở", "en": "Site"}
_MANY: dict[Language, str] = {"vi": "(nhiều)", "en": "(many)"}


def alert_text(rule: str, device: str, subject: str, language: Language) -> str:
    """The staff line for an alert; an unknown rule is named as it is."""
    template = TEXTS.get(rule, SECURITY_TEXTS.get(rule, {})).get(language)
    if template is None:
        return f"{device}: {rule} {subject}".strip()
    if subject == "*":  # a security alert counting a device's subjects past the bound
        subject = _MANY[language]
    return template.format(device=device or _SITE[language], subject=subject or "?")
