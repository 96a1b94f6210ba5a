"""Circulation rules of the ILS simulator, free of any transport.

The SIP2 server turns each request into one call here and each result into a
response; everything a response needs (flags, dates, amounts, item and
patron details, screen messages in Vietnamese and English) is in the result,
so the server holds no rules of its own. Each call is one database
transaction (see :mod:`ilssim.store`) and writes one row of the
transaction log, so the simulator is safe under many connections at once.

The clock is injected, so tests and demos can run on a fixed date.

Offline replay ("no block")
---------------------------
A kiosk that lost the ILS keeps lending and returning, then replays each
transaction with SIP2's *no block* flag and the original date. The ILS must
accept what already happened in the physical world. The decisions here:

* Rules that guard a *policy* are not applied: blocked or expired patron,
  wrong PIN (it is not checked), loan limit, fines, holds for someone else,
  item status (a lost item that was lent is evidently found). A ready hold
  for someone else goes back to waiting and is trapped again at the next
  return.
* Facts that cannot be invented are still required: an unknown patron or an
  unknown item is refused (there is nobody or nothing to record the loan
  against), and so is a transaction date more than
  :attr:`Policy.future_tolerance` in the future.
* An item still on loan to *another* patron since before the offline
  checkout was evidently returned without being checked in: that loan is
  closed at the offline checkout's time (with any overdue fine) and the new
  loan is made. If the other loan started *after* the offline checkout, the
  two stories contradict each other, so the replay is refused with
  ``CONFLICTING_LOAN`` for staff to sort out.
* The same item already on loan to the same patron is recorded as a renewal.
* Replay is idempotent: a loan of the same item to the same patron starting
  at the same instant means the transaction was already recorded, and the
  call answers ok without a second loan. A checkin whose return date equals
  the return of an already closed loan is likewise recognised. A checkin
  whose return date is before the start of the item's current loan belongs
  to an earlier loan and changes nothing.
"""

from __future__ import annotations

import enum
import logging
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ilssim.models import (
    ACTIVE_HOLD_STATES,
    BlockSource,
    Branch,
    Fee,
    Hold,
    HoldStatus,
    Item,
    Loan,
    Patron,
    PatronType,
    Payment,
    SortBinRule,
    SortPurpose,
    TransactionKind,
    TransactionLog,
)
from ilssim.store import Store
from protocols.sip2.codes import (
    AlertType,
    CirculationStatus,
    FeeType,
    HoldMode,
    MediaType,
    PatronStatusFlag,
    PaymentType,
    SecurityMarker,
)

__all__ = [
    "VIETNAM_TZ",
    "CheckinResult",
    "CheckoutResult",
    "Circulation",
    "Clock",
    "EndSessionResult",
    "FeeApplication",
    "FeeLine",
    "FeePaidResult",
    "HoldResult",
    "ItemInformationResult",
    "ItemLists",
    "ItemStatusUpdateResult",
    "ItemSummary",
    "Notice",
    "NoticeCode",
    "PatronInformationResult",
    "PatronStatusResult",
    "PatronSummary",
    "Policy",
    "RenewAllResult",
    "RenewResult",
    "format_vnd",
    "patron_status_string",
    "system_clock",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime."""

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
"""Indochina Time; Vietnam keeps no daylight saving, so a fixed offset is exact."""


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------- policy


def _default_loan_days() -> dict[MediaType, int]:
    return {
        MediaType.OTHER: 14,
        MediaType.BOOK: 21,
        MediaType.MAGAZINE: 7,
        MediaType.BOUND_JOURNAL: 7,
        MediaType.AUDIO_TAPE: 14,
        MediaType.VIDEO_TAPE: 7,
        MediaType.CD_CDROM: 7,
        MediaType.DISKETTE: 14,
        MediaType.BOOK_WITH_DISKETTE: 21,
        MediaType.BOOK_WITH_CD: 21,
        MediaType.BOOK_WITH_AUDIO_TAPE: 21,
    }


def _default_loan_overrides() -> dict[tuple[PatronType, MediaType], int]:
    return {
        (PatronType.CHILD, MediaType.BOOK): 14,
        (PatronType.STAFF, MediaType.BOOK): 42,
        (PatronType.STAFF, MediaType.BOUND_JOURNAL): 14,
    }


def _default_max_renewals() -> dict[PatronType, int]:
    return {PatronType.ADULT: 2, PatronType.STUDENT: 2, PatronType.CHILD: 1, PatronType.STAFF: 5}


def _default_fine_per_day() -> dict[MediaType, int]:
    return {
        MediaType.MAGAZINE: 1_000,
        MediaType.VIDEO_TAPE: 5_000,
        MediaType.CD_CDROM: 5_000,
    }


@dataclass(frozen=True, slots=True)
class Policy:
    """The library's circulation policy. Amounts are VND (no minor unit).

    Defaults are those of a typical Vietnamese public library; a loan is due
    at the end of the local day.
    """

    loan_days: Mapping[MediaType, int] = field(default_factory=_default_loan_days)
    loan_days_override: Mapping[tuple[PatronType, MediaType], int] = field(
        default_factory=_default_loan_overrides
    )
    default_loan_days: int = 14
    max_renewals: Mapping[PatronType, int] = field(default_factory=_default_max_renewals)
    fine_per_day: Mapping[MediaType, int] = field(default_factory=_default_fine_per_day)
    default_fine_per_day: int = 2_000
    fine_cap: int = 100_000
    """Most an overdue fine on one loan can reach."""
    fine_limit: int = 50_000
    """Overdue fines above this deny charge and renewal privileges."""
    fee_limit: int = 50_000
    """All outstanding fees above this deny charge and renewal privileges."""
    max_overdue_items: int = 3
    """This many overdue loans deny new checkouts."""
    hold_limit: int = 10
    hold_shelf_days: int = 7
    renew_overdue: bool = False
    """Whether an overdue loan may be renewed at a self-service device."""
    future_tolerance: timedelta = timedelta(minutes=5)
    """How far ahead of the ILS clock an offline transaction's date may be (clock skew)."""
    local_tz: tzinfo = VIETNAM_TZ
    currency: str = "VND"

    def loan_period(self, patron_type: PatronType, media_type: MediaType) -> int:
        """Loan period in days for this kind of patron and item."""
        override = self.loan_days_override.get((patron_type, media_type))
        if override is not None:
            return override
        return self.loan_days.get(media_type, self.default_loan_days)

    def renewals_allowed(self, patron_type: PatronType) -> int:
        return self.max_renewals.get(patron_type, 2)

    def daily_fine(self, media_type: MediaType) -> int:
        return self.fine_per_day.get(media_type, self.default_fine_per_day)

    def end_of_local_day(self, day: date) -> datetime:
        """The last second of a local day, in UTC: when a loan due that day is due."""
        return datetime.combine(day, time(23, 59, 59), self.local_tz).astimezone(UTC)

    def local_day(self, when: datetime) -> date:
        return when.astimezone(self.local_tz).date()


# --------------------------------------------------------------------------- notices


class NoticeCode(enum.StrEnum):
    """Why a request came out the way it did; each has a Vietnamese and an English text."""

    CHECKED_OUT = "checked_out"
    RENEWED = "renewed"
    CHECKED_IN = "checked_in"
    PATRON_OK = "patron_ok"
    PATRON_UNKNOWN = "patron_unknown"
    WRONG_PIN = "wrong_pin"
    PATRON_BLOCKED = "patron_blocked"
    CARD_LOST = "card_lost"
    PATRON_EXPIRED = "patron_expired"
    FINES_EXCEED_LIMIT = "fines_exceed_limit"
    LOAN_LIMIT = "loan_limit"
    TOO_MANY_OVERDUE = "too_many_overdue"
    OUTSTANDING_FEES = "outstanding_fees"
    HOLDS_READY = "holds_ready"
    ITEM_UNKNOWN = "item_unknown"
    ITEM_ON_LOAN = "item_on_loan"
    ALREADY_ON_LOAN_TO_YOU = "already_on_loan_to_you"
    ITEM_ON_HOLD = "item_on_hold"
    ITEM_NOT_AVAILABLE = "item_not_available"
    FEE_NOT_ACKNOWLEDGED = "fee_not_acknowledged"
    LOAN_FEE_CHARGED = "loan_fee_charged"
    HOLD_FULFILLED = "hold_fulfilled"
    HOLD_RELEASED = "hold_released"
    SET_PARTS = "set_parts"
    OFFLINE_ACCEPTED = "offline_accepted"
    ALREADY_RECORDED = "already_recorded"
    CONFLICTING_LOAN = "conflicting_loan"
    PREVIOUS_LOAN_CLOSED = "previous_loan_closed"
    INVALID_DATE = "invalid_date"
    NOT_ON_LOAN = "not_on_loan"
    ITEM_FOUND = "item_found"
    OVERDUE_FINE = "overdue_fine"
    HOLD_HERE = "hold_here"
    HOLD_ELSEWHERE = "hold_elsewhere"
    TRANSIT = "transit"
    UNKNOWN_BRANCH = "unknown_branch"
    RETURN_PREDATES_LOAN = "return_predates_loan"
    NOT_ON_LOAN_TO_YOU = "not_on_loan_to_you"
    RENEWAL_LIMIT = "renewal_limit"
    RENEWAL_HOLD = "renewal_hold"
    RENEWAL_OVERDUE = "renewal_overdue"
    RENEW_ALL_SUMMARY = "renew_all_summary"
    SESSION_ENDED = "session_ended"
    PAYMENT_ACCEPTED = "payment_accepted"
    PAYMENT_INVALID_AMOUNT = "payment_invalid_amount"
    PAYMENT_EXCEEDS_BALANCE = "payment_exceeds_balance"
    PAYMENT_WRONG_CURRENCY = "payment_wrong_currency"
    FEE_UNKNOWN = "fee_unknown"
    DUPLICATE_PAYMENT = "duplicate_payment"
    HOLD_PLACED = "hold_placed"
    HOLD_CANCELLED = "hold_cancelled"
    HOLD_CHANGED = "hold_changed"
    HOLD_NOT_FOUND = "hold_not_found"
    HOLD_EXISTS = "hold_exists"
    HOLD_LIMIT = "hold_limit"
    HOLD_ON_OWN_LOAN = "hold_on_own_loan"
    HOLD_DENIED = "hold_denied"
    TITLE_UNKNOWN = "title_unknown"
    ITEM_PROPERTIES_UPDATED = "item_properties_updated"
    PATRON_ENABLED = "patron_enabled"
    PATRON_STILL_BLOCKED = "patron_still_blocked"
    PATRON_BLOCKED_NOW = "patron_blocked_now"


_TEXTS: dict[NoticeCode, tuple[str, str]] = {
    NoticeCode.CHECKED_OUT: ("Mượn thành công. Hạn trả: {due}.", "Checked out. Due {due}."),
    NoticeCode.RENEWED: ("Gia hạn thành công. Hạn trả mới: {due}.", "Renewed. New due date {due}."),
    NoticeCode.CHECKED_IN: ("Đã trả tài liệu. Cảm ơn bạn!", "Item returned. Thank you!"),
    NoticeCode.PATRON_OK: ("Xin chào!", "Welcome!"),
    NoticeCode.PATRON_UNKNOWN: ("Không tìm thấy bạn đọc.", "Patron not found."),
    NoticeCode.WRONG_PIN: ("Mã PIN không đúng.", "Incorrect PIN."),
    NoticeCode.PATRON_BLOCKED: (
        "Thẻ bạn đọc đang bị khóa: {reason}. Vui lòng liên hệ thủ thư.",
        "Your account is blocked: {reason}. Please see library staff.",
    ),
    NoticeCode.CARD_LOST: (
        "Thẻ này đã được báo mất. Vui lòng liên hệ thủ thư.",
        "This card has been reported lost. Please see library staff.",
    ),
    NoticeCode.PATRON_EXPIRED: (
        "Thẻ bạn đọc đã hết hạn. Vui lòng gia hạn thẻ tại quầy.",
        "Your library card has expired. Please renew it at the desk.",
    ),
    NoticeCode.FINES_EXCEED_LIMIT: (
        "Bạn đang nợ {amount}, vượt mức cho phép {limit}.",
        "You owe {amount}, more than the {limit} allowed.",
    ),
    NoticeCode.LOAN_LIMIT: (
        "Bạn đã mượn đủ số lượng tối đa ({limit} tài liệu).",
        "You have reached your limit of {limit} loans.",
    ),
    NoticeCode.TOO_MANY_OVERDUE: (
        "Bạn có {count} tài liệu quá hạn. Vui lòng trả trước khi mượn thêm.",
        "You have {count} overdue items. Please return them before borrowing more.",
    ),
    NoticeCode.OUTSTANDING_FEES: ("Bạn đang nợ {amount}.", "You owe {amount}."),
    NoticeCode.HOLDS_READY: (
        "Có {count} tài liệu bạn đặt giữ đang chờ nhận.",
        "{count} of your holds are ready for pickup.",
    ),
    NoticeCode.ITEM_UNKNOWN: ("Không tìm thấy tài liệu.", "Item not found."),
    NoticeCode.ITEM_ON_LOAN: (
        "Tài liệu này đang được bạn đọc khác mượn. Vui lòng liên hệ thủ thư.",
        "This item is checked out to another patron. Please see library staff.",
    ),
    NoticeCode.ALREADY_ON_LOAN_TO_YOU: (
        "Bạn đang mượn tài liệu này rồi.",
        "You already have this item checked out.",
    ),
    NoticeCode.ITEM_ON_HOLD: (
        "Tài liệu này đang được giữ cho bạn đọc khác.",
        "This item is on hold for another patron.",
    ),
    NoticeCode.ITEM_NOT_AVAILABLE: (
        "Tài liệu này hiện không cho mượn. Vui lòng liên hệ thủ thư.",
        "This item cannot be checked out now. Please see library staff.",
    ),
    NoticeCode.FEE_NOT_ACKNOWLEDGED: (
        "Tài liệu này có phí mượn {amount}. Vui lòng xác nhận để tiếp tục.",
        "This item has a loan fee of {amount}. Please confirm to continue.",
    ),
    NoticeCode.LOAN_FEE_CHARGED: (
        "Phí mượn {amount} đã được ghi vào tài khoản của bạn.",
        "A loan fee of {amount} has been charged to your account.",
    ),
    NoticeCode.HOLD_FULFILLED: (
        "Bạn đã nhận tài liệu đặt giữ.",
        "You have picked up your hold.",
    ),
    NoticeCode.HOLD_RELEASED: (
        "Lượt giữ của bạn đọc khác trên tài liệu này đã được trả về hàng chờ.",
        "Another patron's hold on this item went back to the queue.",
    ),
    NoticeCode.SET_PARTS: (
        "Tài liệu gồm {parts} phần. Vui lòng kiểm tra đủ các phần.",
        "This item has {parts} parts. Please make sure all of them are here.",
    ),
    NoticeCode.OFFLINE_ACCEPTED: (
        "Giao dịch ngoại tuyến đã được ghi nhận.",
        "Offline transaction recorded.",
    ),
    NoticeCode.ALREADY_RECORDED: (
        "Giao dịch này đã được ghi nhận trước đó.",
        "This transaction was already recorded.",
    ),
    NoticeCode.CONFLICTING_LOAN: (
        "Giao dịch ngoại tuyến mâu thuẫn với một lượt mượn sau đó; thủ thư cần kiểm tra.",
        "This offline transaction conflicts with a later loan; staff must review it.",
    ),
    NoticeCode.PREVIOUS_LOAN_CLOSED: (
        "Lượt mượn trước của tài liệu đã được đóng.",
        "The item's previous loan has been closed.",
    ),
    NoticeCode.INVALID_DATE: ("Ngày giao dịch không hợp lệ.", "Invalid transaction date."),
    NoticeCode.NOT_ON_LOAN: (
        "Tài liệu này không có trong danh sách đang mượn; đã nhận lại.",
        "This item was not checked out; it has been received.",
    ),
    NoticeCode.ITEM_FOUND: (
        "Tài liệu bị báo mất nay đã được tìm thấy.",
        "This item was reported lost or missing and is now found.",
    ),
    NoticeCode.OVERDUE_FINE: (
        "Trả muộn {days} ngày, phí phạt {amount}.",
        "Returned {days} days late; fine {amount}.",
    ),
    NoticeCode.HOLD_HERE: (
        "Tài liệu được đặt giữ tại thư viện này: đưa lên giá giữ chỗ.",
        "On hold at this library: put it on the hold shelf.",
    ),
    NoticeCode.HOLD_ELSEWHERE: (
        "Tài liệu được đặt giữ: chuyển đến {branch}.",
        "On hold: send it to {branch}.",
    ),
    NoticeCode.TRANSIT: ("Chuyển tài liệu về {branch}.", "Send the item back to {branch}."),
    NoticeCode.UNKNOWN_BRANCH: ("Không rõ chi nhánh {branch}.", "Unknown branch {branch}."),
    NoticeCode.RETURN_PREDATES_LOAN: (
        "Ngày trả sớm hơn lượt mượn hiện tại; không thay đổi gì.",
        "The return date is before the item's current loan; nothing changed.",
    ),
    NoticeCode.NOT_ON_LOAN_TO_YOU: (
        "Bạn không mượn tài liệu này.",
        "This item is not checked out to you.",
    ),
    NoticeCode.RENEWAL_LIMIT: (
        "Tài liệu đã được gia hạn tối đa {limit} lần.",
        "This item has reached its limit of {limit} renewals.",
    ),
    NoticeCode.RENEWAL_HOLD: (
        "Không gia hạn được: có bạn đọc khác đang đặt giữ tài liệu này.",
        "Cannot renew: another patron is waiting for this item.",
    ),
    NoticeCode.RENEWAL_OVERDUE: (
        "Tài liệu đã quá hạn, không gia hạn tại máy được. Vui lòng liên hệ thủ thư.",
        "Overdue items cannot be renewed here. Please see library staff.",
    ),
    NoticeCode.RENEW_ALL_SUMMARY: (
        "Đã gia hạn {renewed} tài liệu; {unrenewed} tài liệu không gia hạn được.",
        "{renewed} items renewed; {unrenewed} could not be renewed.",
    ),
    NoticeCode.SESSION_ENDED: ("Cảm ơn bạn. Hẹn gặp lại!", "Thank you. See you again!"),
    NoticeCode.PAYMENT_ACCEPTED: (
        "Đã nhận thanh toán {amount}. Còn nợ: {balance}.",
        "Payment of {amount} received. Balance: {balance}.",
    ),
    NoticeCode.PAYMENT_INVALID_AMOUNT: (
        "Số tiền thanh toán không hợp lệ.",
        "Invalid payment amount.",
    ),
    NoticeCode.PAYMENT_EXCEEDS_BALANCE: (
        "Số tiền thanh toán {amount} lớn hơn số nợ {balance}.",
        "The payment of {amount} is more than the {balance} owed.",
    ),
    NoticeCode.PAYMENT_WRONG_CURRENCY: (
        "Chỉ nhận thanh toán bằng {currency}.",
        "Payments are accepted in {currency} only.",
    ),
    NoticeCode.FEE_UNKNOWN: ("Không tìm thấy khoản phí.", "Fee not found."),
    NoticeCode.DUPLICATE_PAYMENT: (
        "Giao dịch thanh toán này đã được ghi nhận.",
        "This payment was already recorded.",
    ),
    NoticeCode.HOLD_PLACED: (
        "Đặt giữ thành công. Vị trí trong hàng chờ: {position}.",
        "Hold placed. Position in queue: {position}.",
    ),
    NoticeCode.HOLD_CANCELLED: ("Đã hủy đặt giữ.", "Hold cancelled."),
    NoticeCode.HOLD_CHANGED: ("Đã cập nhật đặt giữ.", "Hold updated."),
    NoticeCode.HOLD_NOT_FOUND: ("Không tìm thấy lượt đặt giữ.", "Hold not found."),
    NoticeCode.HOLD_EXISTS: (
        "Bạn đã đặt giữ tài liệu này rồi.",
        "You already have a hold on this.",
    ),
    NoticeCode.HOLD_LIMIT: (
        "Bạn đã đặt giữ tối đa {limit} tài liệu.",
        "You have reached your limit of {limit} holds.",
    ),
    NoticeCode.HOLD_ON_OWN_LOAN: (
        "Bạn đang mượn tài liệu này nên không thể đặt giữ.",
        "You cannot place a hold on an item you have checked out.",
    ),
    NoticeCode.HOLD_DENIED: (
        "Tài khoản của bạn không được phép đặt giữ.",
        "Your account may not place holds.",
    ),
    NoticeCode.TITLE_UNKNOWN: ("Không tìm thấy nhan đề.", "Title not found."),
    NoticeCode.ITEM_PROPERTIES_UPDATED: (
        "Đã cập nhật thông tin tài liệu.",
        "Item properties updated.",
    ),
    NoticeCode.PATRON_ENABLED: ("Đã mở khóa thẻ bạn đọc.", "Patron account enabled."),
    NoticeCode.PATRON_STILL_BLOCKED: (
        "Thẻ bị khóa bởi thủ thư; máy không thể mở khóa.",
        "The account was blocked by staff; a kiosk cannot lift that.",
    ),
    NoticeCode.PATRON_BLOCKED_NOW: (
        "Thẻ bạn đọc đã bị khóa. Vui lòng liên hệ thủ thư.",
        "Your account has been blocked. Please see library staff.",
    ),
}


@dataclass(frozen=True, slots=True)
class Notice:
    """A screen message (SIP2 AF) with its reason code, in Vietnamese and English."""

    code: NoticeCode
    vi: str
    en: str

    def text(self, language: str = "vi") -> str:
        """The message in ``language`` ("vi" or "en"; anything else gets Vietnamese)."""
        return self.en if language.lower().startswith("en") else self.vi

    @property
    def bilingual(self) -> str:
        """Both texts, for devices that show one line to everyone."""
        return f"{self.vi} / {self.en}"


def format_vnd(amount: int, language: str = "vi") -> str:
    """An amount of đồng as a library would print it: 60.000 VND (vi) or 60,000 VND (en)."""
    grouped = f"{amount:,}"
    if not language.lower().startswith("en"):
        grouped = grouped.replace(",", ".")
    return f"{grouped} VND"


def _notice(code: NoticeCode, **params: object) -> Notice:
    """Fill a notice's texts. Amounts (ints named amount/limit/balance) and dates are localised."""
    vi_template, en_template = _TEXTS[code]
    vi_params: dict[str, object] = {}
    en_params: dict[str, object] = {}
    for name, value in params.items():
        if name in ("amount", "limit", "balance") and isinstance(value, int) and code in _MONEY:
            vi_params[name], en_params[name] = format_vnd(value, "vi"), format_vnd(value, "en")
        elif isinstance(value, datetime):
            vi_params[name] = en_params[name] = value.strftime("%d/%m/%Y")
        else:
            vi_params[name] = en_params[name] = value
    return Notice(code, vi_template.format(**vi_params), en_template.format(**en_params))


_MONEY = frozenset(
    {
        NoticeCode.FINES_EXCEED_LIMIT,
        NoticeCode.OUTSTANDING_FEES,
        NoticeCode.FEE_NOT_ACKNOWLEDGED,
        NoticeCode.LOAN_FEE_CHARGED,
        NoticeCode.OVERDUE_FINE,
        NoticeCode.PAYMENT_ACCEPTED,
        NoticeCode.PAYMENT_EXCEEDS_BALANCE,
    }
)


# --------------------------------------------------------------------------- results


def patron_status_string(flags: Iterable[PatronStatusFlag]) -> str:
    """The 14-character SIP2 patron status: 'Y' where a flag is set, space elsewhere."""
    chars = [" "] * len(PatronStatusFlag)
    for flag in flags:
        chars[flag] = "Y"
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class PatronSummary:
    """Who the patron is, as far as a SIP2 response tells."""

    barcode: str
    name: str
    email: str | None
    patron_type: PatronType
    language: str
    """ISO 639-1 code ("vi", "en")."""
    home_library: str
    expires_on: date | None

    @property
    def sip2_language(self) -> str:
        """SIP2's three-digit language code; SIP2 has no Vietnamese, so that is 000 (unknown)."""
        return "001" if self.language == "en" else "000"


@dataclass(frozen=True, slots=True)
class ItemSummary:
    """An item's catalogue and location data (SIP2 AB AJ CK AQ AP BG CS CL CH…)."""

    barcode: str
    bib_id: str
    title: str
    author: str
    media_type: MediaType
    call_number: str
    permanent_location: str
    """Home branch code."""
    current_location: str
    destination: str | None
    """Branch the item is travelling to, when in transit."""
    owner: str
    set_parts: int
    circulation_status: CirculationStatus
    security_marker: SecurityMarker
    sort_bin: str | None
    properties: str


@dataclass(frozen=True, slots=True)
class PatronStatusResult:
    """Patron status (24), also the answer to block patron (01) and patron enable (26)."""

    valid_patron: bool
    valid_pin: bool | None
    """None when no PIN was given: not checked (SIP2 sends CQ only when AD was sent)."""
    flags: frozenset[PatronStatusFlag]
    patron: PatronSummary | None
    fee_amount: int
    """All outstanding fees and fines (BV)."""
    fine_amount: int
    """Outstanding overdue fines alone."""
    currency: str
    notices: tuple[Notice, ...]

    @property
    def status(self) -> str:
        """The 14-character patron status field."""
        return patron_status_string(self.flags)

    @property
    def ok(self) -> bool:
        return self.valid_patron and self.valid_pin is not False


@dataclass(frozen=True, slots=True)
class ItemLists:
    """The six item lists of patron information (AS AT AU AV BU CD), windowed by start/end."""

    hold: tuple[str, ...] = ()
    overdue: tuple[str, ...] = ()
    charged: tuple[str, ...] = ()
    fine: tuple[str, ...] = ()
    recall: tuple[str, ...] = ()
    unavailable_hold: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One outstanding fee, for a kiosk that lets the patron pay a chosen fee (CG = fee_id)."""

    fee_id: str
    fee_type: FeeType
    amount: int
    outstanding: int
    description: str
    item_barcode: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PatronInformationResult:
    """Patron information (64): the status plus counts, limits and item lists."""

    status: PatronStatusResult
    hold_items_count: int
    overdue_items_count: int
    charged_items_count: int
    fine_items_count: int
    recall_items_count: int
    unavailable_holds_count: int
    hold_items_limit: int
    overdue_items_limit: int
    charged_items_limit: int
    fee_limit: int
    items: ItemLists
    fees: tuple[FeeLine, ...]

    @property
    def ok(self) -> bool:
        return self.status.ok


@dataclass(frozen=True, slots=True)
class ItemInformationResult:
    """Item information (18)."""

    found: bool
    item: ItemSummary | None
    due_at: datetime | None
    fee_type: FeeType | None
    fee_amount: int
    currency: str
    hold_queue_length: int
    hold_pickup_date: datetime | None
    """When a ready hold's pickup period ends."""
    notices: tuple[Notice, ...]


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """Checkout (12). ``renewal_ok`` is set when the checkout was a renewal of the patron's loan."""

    ok: bool
    renewal_ok: bool
    valid_patron: bool
    magnetic_media: bool | None
    """SIP2's Y/N/U: None when unknown."""
    desensitize: bool
    due_at: datetime | None
    item: ItemSummary | None
    patron: PatronSummary | None
    fee_type: FeeType | None
    fee_amount: int
    currency: str
    offline: bool
    already_recorded: bool
    renewals: int
    notices: tuple[Notice, ...]

    @property
    def code(self) -> NoticeCode:
        return self.notices[0].code


@dataclass(frozen=True, slots=True)
class CheckinResult:
    """Checkin (10), with the routing a return machine needs (alert, CV, CL, CT)."""

    ok: bool
    resensitize: bool
    magnetic_media: bool | None
    alert: bool
    alert_type: AlertType | None
    sort_bin: str | None
    destination: str | None
    """Branch code to send the item to (CT)."""
    destination_name: str | None
    item: ItemSummary | None
    patron_barcode: str | None
    """Who had the item on loan."""
    hold_patron_barcode: str | None
    hold_patron_name: str | None
    hold_pickup: str | None
    fine_amount: int
    currency: str
    was_on_loan: bool
    already_recorded: bool
    notices: tuple[Notice, ...]

    @property
    def code(self) -> NoticeCode:
        return self.notices[0].code


@dataclass(frozen=True, slots=True)
class RenewResult:
    """Renew (30)."""

    ok: bool
    renewal_ok: bool
    valid_patron: bool
    magnetic_media: bool | None
    desensitize: bool
    due_at: datetime | None
    item: ItemSummary | None
    renewals: int
    renewals_left: int
    fee_type: FeeType | None
    fee_amount: int
    currency: str
    notices: tuple[Notice, ...]

    @property
    def code(self) -> NoticeCode:
        return self.notices[0].code


@dataclass(frozen=True, slots=True)
class RenewAllResult:
    """Renew all (66): item barcodes renewed (BM) and not renewed (BN)."""

    ok: bool
    renewed: tuple[str, ...]
    unrenewed: tuple[str, ...]
    notices: tuple[Notice, ...]

    @property
    def renewed_count(self) -> int:
        return len(self.renewed)

    @property
    def unrenewed_count(self) -> int:
        return len(self.unrenewed)


@dataclass(frozen=True, slots=True)
class EndSessionResult:
    """End patron session (36)."""

    ok: bool
    notices: tuple[Notice, ...]


@dataclass(frozen=True, slots=True)
class FeeApplication:
    """How much of a payment went to which fee."""

    fee_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class FeePaidResult:
    """Fee paid (38)."""

    ok: bool
    transaction_id: str | None
    applied: tuple[FeeApplication, ...]
    balance: int
    """What the patron still owes after the payment."""
    currency: str
    notices: tuple[Notice, ...]


@dataclass(frozen=True, slots=True)
class HoldResult:
    """Hold (16)."""

    ok: bool
    available: bool
    """Whether a copy is on the shelf now (SIP2 "available")."""
    queue_position: int | None
    expires_at: datetime | None
    pickup_location: str | None
    item_barcode: str | None
    bib_id: str | None
    title: str | None
    notices: tuple[Notice, ...]


@dataclass(frozen=True, slots=True)
class ItemStatusUpdateResult:
    """Item status update (20)."""

    ok: bool
    item: ItemSummary | None
    notices: tuple[Notice, ...]


# --------------------------------------------------------------------------- service

_MAGNETIC = frozenset(
    {
        MediaType.AUDIO_TAPE,
        MediaType.VIDEO_TAPE,
        MediaType.DISKETTE,
        MediaType.BOOK_WITH_DISKETTE,
        MediaType.BOOK_WITH_AUDIO_TAPE,
    }
)

# Statuses under which an item cannot be lent online: it is not (known to be) on the shelf.
_NOT_LENDABLE = frozenset(
    {
        CirculationStatus.OTHER,
        CirculationStatus.ON_ORDER,
        CirculationStatus.IN_PROCESS,
        CirculationStatus.CLAIMED_RETURNED,
        CirculationStatus.LOST,
        CirculationStatus.MISSING,
    }
)


def _magnetic(media: MediaType) -> bool | None:
    if media is MediaType.OTHER:
        return None
    return media in _MAGNETIC


def _item_summary(item: Item) -> ItemSummary:
    return ItemSummary(
        barcode=item.barcode,
        bib_id=item.bib_id,
        title=item.title,
        author=item.author,
        media_type=item.media_type,
        call_number=item.call_number,
        permanent_location=item.home_branch_code,
        current_location=item.current_branch_code,
        destination=item.destination_branch_code,
        owner=item.owner_code,
        set_parts=item.set_parts,
        circulation_status=item.status,
        security_marker=item.security_marker,
        sort_bin=item.sort_bin,
        properties=item.properties,
    )


def _patron_summary(patron: Patron) -> PatronSummary:
    return PatronSummary(
        barcode=patron.barcode,
        name=patron.name,
        email=patron.email,
        patron_type=patron.patron_type,
        language=patron.language,
        home_library=patron.home_branch_code,
        expires_on=patron.expires_on,
    )


def _window(values: list[str], start: int, end: int | None) -> tuple[str, ...]:
    """SIP2's BP/BQ: 1-based, inclusive; a missing end means to the last item."""
    first = max(start, 1) - 1
    last = len(values) if end is None else min(end, len(values))
    return tuple(values[first:last])


@dataclass(slots=True)
class _CheckinDraft:
    """A checkin result being put together (internal)."""

    notices: list[Notice] = field(default_factory=list)
    alert_type: AlertType | None = None
    sort_bin: str | None = None
    destination: str | None = None
    destination_name: str | None = None
    patron_barcode: str | None = None
    hold_patron_barcode: str | None = None
    hold_patron_name: str | None = None
    hold_pickup: str | None = None
    fine_amount: int = 0
    was_on_loan: bool = False
    already_recorded: bool = False


@dataclass(slots=True)
class _Standing:
    """What is known about a patron's account at one moment (internal)."""

    open_loans: list[Loan]
    overdue: list[Loan]
    fines: int
    fees: int
    flags: frozenset[PatronStatusFlag]


class Circulation:
    """The simulator's circulation service; one instance serves every connection.

    ``clock`` gives the ILS time; ``policy`` the loan rules.
    """

    def __init__(self, store: Store, clock: Clock = system_clock, policy: Policy | None = None):
        self.store = store
        self.clock = clock
        self.policy = policy or Policy()

    # ------------------------------------------------------------------ helpers

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the circulation clock must return aware datetimes")
        return now.astimezone(UTC)

    @staticmethod
    def _patron(session: Session, barcode: str) -> Patron | None:
        return session.scalar(select(Patron).where(Patron.barcode == barcode))

    @staticmethod
    def _item(session: Session, barcode: str) -> Item | None:
        return session.scalar(select(Item).where(Item.barcode == barcode))

    @staticmethod
    def _open_loan(session: Session, item_id: int) -> Loan | None:
        return session.scalar(
            select(Loan).where(Loan.item_id == item_id, Loan.returned_at.is_(None))
        )

    @staticmethod
    def _branch(session: Session, code: str) -> Branch | None:
        return session.get(Branch, code)

    def _log(
        self,
        session: Session,
        kind: TransactionKind,
        *,
        terminal: str,
        ok: bool,
        code: str,
        patron_barcode: str | None = None,
        item_barcode: str | None = None,
        offline: bool = False,
    ) -> None:
        session.add(
            TransactionLog(
                at=self._now(),
                kind=kind,
                terminal=terminal,
                ok=ok,
                code=code,
                patron_barcode=patron_barcode,
                item_barcode=item_barcode,
                offline=offline,
            )
        )
        log.debug("%s on %r: ok=%s code=%s", kind.value, terminal, ok, code)

    def log_request(
        self, kind: TransactionKind, *, terminal: str, ok: bool, code: str = ""
    ) -> None:
        """Log a request that does not pass through the rules (login, SC status)."""
        with self.store.write() as session:
            self._log(session, kind, terminal=terminal, ok=ok, code=code)

    def _standing(self, session: Session, patron: Patron, now: datetime) -> _Standing:
        loans = list(
            session.scalars(
                select(Loan)
                .where(Loan.patron_id == patron.id, Loan.returned_at.is_(None))
                .order_by(Loan.due_at, Loan.id)
            )
        )
        overdue = [loan for loan in loans if loan.due_at < now]
        fees = list(self._outstanding_fees(session, patron.id))
        fines = sum(fee.outstanding for fee in fees if fee.fee_type is FeeType.OVERDUE)
        total = sum(fee.outstanding for fee in fees)
        denied = patron.blocked or patron.card_lost or self._expired(patron, now)
        flags: set[PatronStatusFlag] = set()
        excessive_fines = fines > self.policy.fine_limit
        excessive_fees = total > self.policy.fee_limit
        too_many_overdue = len(overdue) >= self.policy.max_overdue_items
        if denied or excessive_fines or excessive_fees or too_many_overdue:
            flags.add(PatronStatusFlag.CHARGE_PRIVILEGES_DENIED)
        if denied or excessive_fines or excessive_fees:
            flags.add(PatronStatusFlag.RENEWAL_PRIVILEGES_DENIED)
        if denied:
            flags.add(PatronStatusFlag.RECALL_PRIVILEGES_DENIED)
            flags.add(PatronStatusFlag.HOLD_PRIVILEGES_DENIED)
        if patron.card_lost:
            flags.add(PatronStatusFlag.CARD_REPORTED_LOST)
        if len(loans) >= patron.loan_limit:
            flags.add(PatronStatusFlag.TOO_MANY_ITEMS_CHARGED)
        if too_many_overdue:
            flags.add(PatronStatusFlag.TOO_MANY_ITEMS_OVERDUE)
        if excessive_fines:
            flags.add(PatronStatusFlag.EXCESSIVE_OUTSTANDING_FINES)
        if excessive_fees:
            flags.add(PatronStatusFlag.EXCESSIVE_OUTSTANDING_FEES)
        return _Standing(loans, overdue, fines, total, frozenset(flags))

    @staticmethod
    def _outstanding_fees(session: Session, patron_id: int) -> Iterable[Fee]:
        return session.scalars(
            select(Fee)
            .where(Fee.patron_id == patron_id, Fee.paid < Fee.amount)
            .order_by(Fee.created_at, Fee.id)
        )

    def _expired(self, patron: Patron, now: datetime) -> bool:
        return patron.expires_on is not None and patron.expires_on < self.policy.local_day(now)

    def _privilege_refusal(
        self, patron: Patron, standing: _Standing, now: datetime
    ) -> Notice | None:
        """Why this patron may not borrow or renew at all, or None."""
        if patron.card_lost:
            return _notice(NoticeCode.CARD_LOST)
        if patron.blocked:
            return _notice(NoticeCode.PATRON_BLOCKED, reason=patron.block_reason or "—")
        if self._expired(patron, now):
            return _notice(NoticeCode.PATRON_EXPIRED)
        if standing.fines > self.policy.fine_limit:
            return _notice(
                NoticeCode.FINES_EXCEED_LIMIT, amount=standing.fines, limit=self.policy.fine_limit
            )
        if standing.fees > self.policy.fee_limit:
            return _notice(
                NoticeCode.FINES_EXCEED_LIMIT, amount=standing.fees, limit=self.policy.fee_limit
            )
        return None

    def _expire_if_due(self, hold: Hold, now: datetime) -> bool:
        """Mark a hold expired when its time has passed; True if it is no longer active."""
        if hold.status is HoldStatus.READY and hold.ready_until and hold.ready_until < now:
            hold.status, hold.closed_at = HoldStatus.EXPIRED, now
            return True
        if hold.status is HoldStatus.WAITING and hold.expires_at and hold.expires_at < now:
            hold.status, hold.closed_at = HoldStatus.EXPIRED, now
            return True
        return hold.status not in ACTIVE_HOLD_STATES

    def _queue(self, session: Session, item: Item, now: datetime) -> list[Hold]:
        """Active holds this copy could fill, in the order they will be served.

        Holds already trapped for this copy come first; then item-level holds on
        it and title-level holds on its title not yet trapped, oldest first.
        """
        holds = session.scalars(
            select(Hold)
            .where(
                Hold.status.in_(ACTIVE_HOLD_STATES),
                or_(
                    Hold.item_id == item.id,
                    and_(Hold.bib_id == item.bib_id, Hold.item_id.is_(None)),
                ),
            )
            .order_by(Hold.placed_at, Hold.id)
        )
        live = [hold for hold in holds if not self._expire_if_due(hold, now)]
        return sorted(live, key=lambda h: (h.status is HoldStatus.WAITING, h.placed_at, h.id))

    def _release(self, hold: Hold) -> None:
        """Put a trapped hold back in the queue (its copy went elsewhere)."""
        hold.status = HoldStatus.WAITING
        hold.ready_at = hold.ready_until = None
        if not hold.item_level:
            hold.item_id = None

    def _bib_title(self, session: Session, bib_id: str) -> str:
        return session.scalar(select(Item.title).where(Item.bib_id == bib_id).limit(1)) or bib_id

    def _due(self, start: datetime, patron: Patron, item: Item) -> datetime:
        days = self.policy.loan_period(patron.patron_type, item.media_type)
        return self.policy.end_of_local_day(self.policy.local_day(start) + timedelta(days=days))

    def _overdue_fine(self, session: Session, loan: Loan, returned_at: datetime) -> tuple[int, int]:
        """Charge the fine for a late return; returns (days late, amount)."""
        if returned_at <= loan.due_at:
            return 0, 0
        days = (self.policy.local_day(returned_at) - self.policy.local_day(loan.due_at)).days
        days = max(days, 1)
        amount = min(days * self.policy.daily_fine(loan.item.media_type), self.policy.fine_cap)
        if amount > 0:
            session.add(
                Fee(
                    patron_id=loan.patron_id,
                    item_id=loan.item_id,
                    loan_id=loan.id,
                    fee_type=FeeType.OVERDUE,
                    amount=amount,
                    paid=0,
                    currency=self.policy.currency,
                    description=f"Quá hạn {days} ngày / {days} days overdue: {loan.item.barcode}",
                    created_at=returned_at,
                )
            )
        return days, amount

    def _close_loan(
        self, session: Session, loan: Loan, returned_at: datetime, *, offline: bool
    ) -> tuple[int, int]:
        loan.returned_at = returned_at
        loan.return_offline = offline
        return self._overdue_fine(session, loan, returned_at)

    def _renewal_refusal(
        self,
        session: Session,
        loan: Loan,
        patron: Patron,
        standing: _Standing,
        now: datetime,
    ) -> Notice | None:
        refusal = self._privilege_refusal(patron, standing, now)
        if refusal is not None:
            return refusal
        if not self.policy.renew_overdue and loan.due_at < now:
            return _notice(NoticeCode.RENEWAL_OVERDUE)
        limit = self.policy.renewals_allowed(patron.patron_type)
        if loan.renewals >= limit:
            return _notice(NoticeCode.RENEWAL_LIMIT, limit=limit)
        item = loan.item
        for hold in self._queue(session, item, now):
            if hold.patron_id == patron.id:
                continue
            if hold.item_id == item.id:
                return _notice(NoticeCode.RENEWAL_HOLD)
            # A title-level hold blocks renewal only when no other copy could fill it.
            other_copy = session.scalar(
                select(func.count())
                .select_from(Item)
                .where(
                    Item.bib_id == item.bib_id,
                    Item.id != item.id,
                    Item.status == CirculationStatus.AVAILABLE,
                )
            )
            if not other_copy:
                return _notice(NoticeCode.RENEWAL_HOLD)
        return None

    def _apply_renewal(
        self, loan: Loan, patron: Patron, at: datetime, due_at: datetime | None = None
    ) -> None:
        new_due = due_at or self._due(at, patron, loan.item)
        loan.due_at = max(loan.due_at, new_due)
        loan.renewals += 1

    def _sort_bin(
        self, session: Session, item: Item, branch_code: str, purpose: SortPurpose
    ) -> str | None:
        """The bin for a returned item: the item's own bin, else the most specific rule."""
        if purpose is SortPurpose.RESHELVE and item.sort_bin:
            return item.sort_bin
        best: tuple[int, int, str] | None = None
        rules = session.scalars(
            select(SortBinRule).where(
                SortBinRule.branch_code == branch_code, SortBinRule.purpose == purpose
            )
        )
        for rule in rules:
            if rule.media_type is not None and rule.media_type is not item.media_type:
                continue
            prefix = rule.call_number_prefix
            if prefix is not None and not item.call_number.startswith(prefix):
                continue
            score = (1 if rule.media_type is not None else 0) * 1000 + len(prefix or "")
            key = (score, -rule.id, rule.bin)
            if best is None or key > best:
                best = key
        return best[2] if best else None

    # ------------------------------------------------------------------ patron

    def _status_result(
        self,
        session: Session,
        patron_barcode: str,
        pin: str | None,
        now: datetime,
        extra: tuple[Notice, ...] = (),
    ) -> tuple[PatronStatusResult, Patron | None, _Standing | None]:
        patron = self._patron(session, patron_barcode)
        if patron is None:
            all_flags = frozenset(
                {
                    PatronStatusFlag.CHARGE_PRIVILEGES_DENIED,
                    PatronStatusFlag.RENEWAL_PRIVILEGES_DENIED,
                    PatronStatusFlag.RECALL_PRIVILEGES_DENIED,
                    PatronStatusFlag.HOLD_PRIVILEGES_DENIED,
                }
            )
            result = PatronStatusResult(
                valid_patron=False,
                valid_pin=None if pin is None else False,
                flags=all_flags,
                patron=None,
                fee_amount=0,
                fine_amount=0,
                currency=self.policy.currency,
                notices=(_notice(NoticeCode.PATRON_UNKNOWN),),
            )
            return result, None, None
        standing = self._standing(session, patron, now)
        valid_pin = None if pin is None else pin == patron.pin
        notices: list[Notice] = list(extra)
        if valid_pin is False:
            notices.append(_notice(NoticeCode.WRONG_PIN))
        else:
            refusal = self._privilege_refusal(patron, standing, now)
            if refusal is not None:
                notices.append(refusal)
            elif PatronStatusFlag.TOO_MANY_ITEMS_OVERDUE in standing.flags:
                notices.append(_notice(NoticeCode.TOO_MANY_OVERDUE, count=len(standing.overdue)))
            elif standing.fees > 0:
                notices.append(_notice(NoticeCode.OUTSTANDING_FEES, amount=standing.fees))
            ready = session.scalar(
                select(func.count())
                .select_from(Hold)
                .where(Hold.patron_id == patron.id, Hold.status == HoldStatus.READY)
            )
            if ready:
                notices.append(_notice(NoticeCode.HOLDS_READY, count=ready))
        if not notices:
            notices.append(_notice(NoticeCode.PATRON_OK))
        result = PatronStatusResult(
            valid_patron=True,
            valid_pin=valid_pin,
            flags=standing.flags,
            patron=_patron_summary(patron),
            fee_amount=standing.fees,
            fine_amount=standing.fines,
            currency=self.policy.currency,
            notices=tuple(notices),
        )
        return result, patron, standing

    def patron_status(
        self, patron_barcode: str, pin: str | None = None, *, terminal: str = ""
    ) -> PatronStatusResult:
        """Patron status (23): is this a patron, is the PIN right, what may they do."""
        now = self._now()
        with self.store.write() as session:
            result, _, _ = self._status_result(session, patron_barcode, pin, now)
            self._log(
                session,
                TransactionKind.PATRON_STATUS,
                terminal=terminal,
                ok=result.ok,
                code=result.notices[0].code,
                patron_barcode=patron_barcode,
            )
            return result

    def patron_information(
        self,
        patron_barcode: str,
        pin: str | None = None,
        *,
        start: int = 1,
        end: int | None = None,
        terminal: str = "",
    ) -> PatronInformationResult:
        """Patron information (63): status plus counts, limits and the item lists.

        Every list is filled and cut to ``start``..``end`` (1-based, inclusive);
        the server sends the one the summary field asked for. A wrong PIN gets
        the status but no lists.
        """
        now = self._now()
        with self.store.write() as session:
            status, patron, standing = self._status_result(session, patron_barcode, pin, now)
            self._log(
                session,
                TransactionKind.PATRON_INFORMATION,
                terminal=terminal,
                ok=status.ok,
                code=status.notices[0].code,
                patron_barcode=patron_barcode,
            )
            empty = PatronInformationResult(
                status=status,
                hold_items_count=0,
                overdue_items_count=0,
                charged_items_count=0,
                fine_items_count=0,
                recall_items_count=0,
                unavailable_holds_count=0,
                hold_items_limit=self.policy.hold_limit,
                overdue_items_limit=self.policy.max_overdue_items,
                charged_items_limit=patron.loan_limit if patron else 0,
                fee_limit=self.policy.fee_limit,
                items=ItemLists(),
                fees=(),
            )
            if patron is None or standing is None or not status.ok:
                return empty
            holds = list(
                session.scalars(
                    select(Hold)
                    .where(Hold.patron_id == patron.id, Hold.status.in_(ACTIVE_HOLD_STATES))
                    .order_by(Hold.placed_at, Hold.id)
                )
            )
            ready: list[str] = []
            unavailable: list[str] = []
            for hold in holds:
                label = hold.item.barcode if hold.item else self._bib_title(session, hold.bib_id)
                (ready if hold.status is HoldStatus.READY else unavailable).append(label)
            fees = list(self._outstanding_fees(session, patron.id))
            fee_lines = tuple(
                FeeLine(
                    fee_id=str(fee.id),
                    fee_type=fee.fee_type,
                    amount=fee.amount,
                    outstanding=fee.outstanding,
                    description=fee.description,
                    item_barcode=fee.item.barcode if fee.item else None,
                    created_at=fee.created_at,
                )
                for fee in fees
            )
            fine_labels = [
                line.item_barcode or line.description or line.fee_id for line in fee_lines
            ]
            charged = [loan.item.barcode for loan in standing.open_loans]
            overdue = [loan.item.barcode for loan in standing.overdue]
            return PatronInformationResult(
                status=status,
                hold_items_count=len(ready),
                overdue_items_count=len(overdue),
                charged_items_count=len(charged),
                fine_items_count=len(fee_lines),
                recall_items_count=0,
                unavailable_holds_count=len(unavailable),
                hold_items_limit=self.policy.hold_limit,
                overdue_items_limit=self.policy.max_overdue_items,
                charged_items_limit=patron.loan_limit,
                fee_limit=self.policy.fee_limit,
                items=ItemLists(
                    hold=_window(ready, start, end),
                    overdue=_window(overdue, start, end),
                    charged=_window(charged, start, end),
                    fine=_window(fine_labels, start, end),
                    recall=(),
                    unavailable_hold=_window(unavailable, start, end),
                ),
                fees=fee_lines,
            )

    # ------------------------------------------------------------------ item information

    def item_information(self, item_barcode: str, *, terminal: str = "") -> ItemInformationResult:
        """Item information (17): status, location, due date, hold queue."""
        now = self._now()
        with self.store.write() as session:
            item = self._item(session, item_barcode)
            if item is None:
                self._log(
                    session,
                    TransactionKind.ITEM_INFORMATION,
                    terminal=terminal,
                    ok=False,
                    code=NoticeCode.ITEM_UNKNOWN,
                    item_barcode=item_barcode,
                )
                return ItemInformationResult(
                    found=False,
                    item=None,
                    due_at=None,
                    fee_type=None,
                    fee_amount=0,
                    currency=self.policy.currency,
                    hold_queue_length=0,
                    hold_pickup_date=None,
                    notices=(_notice(NoticeCode.ITEM_UNKNOWN),),
                )
            loan = self._open_loan(session, item.id)
            queue = self._queue(session, item, now)
            ready = next(
                (h for h in queue if h.status is HoldStatus.READY and h.item_id == item.id), None
            )
            notices: list[Notice] = []
            if item.set_parts > 1:
                notices.append(_notice(NoticeCode.SET_PARTS, parts=item.set_parts))
            self._log(
                session,
                TransactionKind.ITEM_INFORMATION,
                terminal=terminal,
                ok=True,
                code="found",
                item_barcode=item_barcode,
            )
            return ItemInformationResult(
                found=True,
                item=_item_summary(item),
                due_at=loan.due_at if loan else None,
                fee_type=FeeType.RENTAL if item.loan_fee > 0 else None,
                fee_amount=item.loan_fee,
                currency=self.policy.currency,
                hold_queue_length=len(queue),
                hold_pickup_date=ready.ready_until if ready else None,
                notices=tuple(notices),
            )

    # ------------------------------------------------------------------ checkout

    def checkout(
        self,
        patron_barcode: str,
        item_barcode: str,
        pin: str | None = None,
        *,
        terminal: str = "",
        renewal_allowed: bool = True,
        no_block: bool = False,
        transaction_at: datetime | None = None,
        nb_due_at: datetime | None = None,
        fee_acknowledged: bool = False,
    ) -> CheckoutResult:
        """Checkout (11).

        ``renewal_allowed`` is SIP2's "SC renewal policy": a checkout of an item
        the patron already has becomes a renewal. ``no_block`` with
        ``transaction_at`` (and optionally ``nb_due_at``, the due date the kiosk
        promised offline) replays an offline checkout; see the module docstring.
        """
        now = self._now()
        try:
            with self.store.write() as session:
                result = self._checkout(
                    session,
                    patron_barcode,
                    item_barcode,
                    pin,
                    now,
                    terminal=terminal,
                    renewal_allowed=renewal_allowed,
                    no_block=no_block,
                    transaction_at=transaction_at,
                    nb_due_at=nb_due_at,
                    fee_acknowledged=fee_acknowledged,
                )
                session.flush()
                return result
        except IntegrityError:
            # Another connection lent the item between our check and our insert;
            # the partial unique index on open loans refused the second loan.
            log.info("checkout lost a race for an item; answering from the winner's loan")
            return self._lost_race(patron_barcode, item_barcode, terminal, no_block, now)

    def _lost_race(
        self, patron_barcode: str, item_barcode: str, terminal: str, no_block: bool, now: datetime
    ) -> CheckoutResult:
        with self.store.write() as session:
            patron = self._patron(session, patron_barcode)
            item = self._item(session, item_barcode)
            loan = self._open_loan(session, item.id) if item else None
            mine = loan is not None and patron is not None and loan.patron_id == patron.id
            code = NoticeCode.CHECKED_OUT if mine else NoticeCode.ITEM_ON_LOAN
            notice = (
                _notice(code, due=loan.due_at.astimezone(self.policy.local_tz))
                if mine and loan
                else _notice(code)
            )
            self._log(
                session,
                TransactionKind.CHECKOUT,
                terminal=terminal,
                ok=mine,
                code=code,
                patron_barcode=patron_barcode,
                item_barcode=item_barcode,
                offline=no_block,
            )
            return self._checkout_result(
                ok=mine,
                patron=patron,
                item=item,
                loan=loan if mine else None,
                notices=(notice,),
                offline=no_block,
            )

    def _checkout_result(
        self,
        *,
        ok: bool,
        patron: Patron | None,
        item: Item | None,
        loan: Loan | None,
        notices: Iterable[Notice],
        renewal_ok: bool = False,
        offline: bool = False,
        already_recorded: bool = False,
        fee_amount: int = 0,
    ) -> CheckoutResult:
        return CheckoutResult(
            ok=ok,
            renewal_ok=renewal_ok,
            valid_patron=patron is not None,
            magnetic_media=_magnetic(item.media_type) if item else None,
            desensitize=ok,
            due_at=loan.due_at if loan and ok else None,
            item=_item_summary(item) if item else None,
            patron=_patron_summary(patron) if patron else None,
            fee_type=FeeType.RENTAL if item and item.loan_fee > 0 else None,
            fee_amount=fee_amount or (item.loan_fee if item else 0),
            currency=self.policy.currency,
            offline=offline,
            already_recorded=already_recorded,
            renewals=loan.renewals if loan else 0,
            notices=tuple(notices),
        )

    def _checkout(
        self,
        session: Session,
        patron_barcode: str,
        item_barcode: str,
        pin: str | None,
        now: datetime,
        *,
        terminal: str,
        renewal_allowed: bool,
        no_block: bool,
        transaction_at: datetime | None,
        nb_due_at: datetime | None,
        fee_acknowledged: bool,
    ) -> CheckoutResult:
        def refuse(
            notice: Notice, patron: Patron | None = None, item: Item | None = None
        ) -> CheckoutResult:
            self._log(
                session,
                TransactionKind.CHECKOUT,
                terminal=terminal,
                ok=False,
                code=notice.code,
                patron_barcode=patron_barcode,
                item_barcode=item_barcode,
                offline=no_block,
            )
            log.info("checkout refused: %s", notice.code.value)
            return self._checkout_result(
                ok=False, patron=patron, item=item, loan=None, notices=(notice,), offline=no_block
            )

        def accept(
            loan: Loan,
            notices: list[Notice],
            *,
            renewal_ok: bool = False,
            already_recorded: bool = False,
            fee_amount: int = 0,
        ) -> CheckoutResult:
            if loan.item.set_parts > 1:
                notices.append(_notice(NoticeCode.SET_PARTS, parts=loan.item.set_parts))
            self._log(
                session,
                TransactionKind.CHECKOUT,
                terminal=terminal,
                ok=True,
                code=notices[0].code,
                patron_barcode=patron_barcode,
                item_barcode=item_barcode,
                offline=no_block,
            )
            return self._checkout_result(
                ok=True,
                patron=loan.patron,
                item=loan.item,
                loan=loan,
                notices=notices,
                renewal_ok=renewal_ok,
                offline=no_block,
                already_recorded=already_recorded,
                fee_amount=fee_amount,
            )

        def due_notice(code: NoticeCode, loan: Loan) -> Notice:
            return _notice(code, due=loan.due_at.astimezone(self.policy.local_tz))

        patron = self._patron(session, patron_barcode)
        if patron is None:
            return refuse(_notice(NoticeCode.PATRON_UNKNOWN))
        item = self._item(session, item_barcode)

        if no_block:
            at = (transaction_at or now).astimezone(UTC)
            if at > now + self.policy.future_tolerance:
                return refuse(_notice(NoticeCode.INVALID_DATE), patron, item)
            if item is None:
                return refuse(_notice(NoticeCode.ITEM_UNKNOWN), patron)
            return self._checkout_offline(
                session,
                patron,
                item,
                at=at,
                nb_due_at=nb_due_at,
                now=now,
                terminal=terminal,
                accept=accept,
                refuse=refuse,
                due_notice=due_notice,
            )

        if pin is not None and pin != patron.pin:
            return refuse(_notice(NoticeCode.WRONG_PIN), patron, item)
        standing = self._standing(session, patron, now)
        if item is None:
            return refuse(_notice(NoticeCode.ITEM_UNKNOWN), patron)

        loan = self._open_loan(session, item.id)
        if loan is not None:
            if loan.patron_id != patron.id:
                return refuse(_notice(NoticeCode.ITEM_ON_LOAN), patron, item)
            if not renewal_allowed:
                return refuse(_notice(NoticeCode.ALREADY_ON_LOAN_TO_YOU), patron, item)
            refusal = self._renewal_refusal(session, loan, patron, standing, now)
            if refusal is not None:
                return refuse(refusal, patron, item)
            self._apply_renewal(loan, patron, now)
            return accept(loan, [due_notice(NoticeCode.RENEWED, loan)], renewal_ok=True)

        refusal = self._privilege_refusal(patron, standing, now)
        if refusal is not None:
            return refuse(refusal, patron, item)
        if PatronStatusFlag.TOO_MANY_ITEMS_OVERDUE in standing.flags:
            return refuse(
                _notice(NoticeCode.TOO_MANY_OVERDUE, count=len(standing.overdue)), patron, item
            )
        if len(standing.open_loans) >= patron.loan_limit:
            return refuse(_notice(NoticeCode.LOAN_LIMIT, limit=patron.loan_limit), patron, item)
        if item.status in _NOT_LENDABLE:
            return refuse(_notice(NoticeCode.ITEM_NOT_AVAILABLE), patron, item)
        queue = self._queue(session, item, now)
        if queue and queue[0].patron_id != patron.id:
            return refuse(_notice(NoticeCode.ITEM_ON_HOLD), patron, item)
        if item.loan_fee > 0 and not fee_acknowledged:
            return refuse(
                _notice(NoticeCode.FEE_NOT_ACKNOWLEDGED, amount=item.loan_fee), patron, item
            )

        loan = self._lend(
            session, patron, item, at=now, due_at=self._due(now, patron, item), terminal=terminal
        )
        notices = [due_notice(NoticeCode.CHECKED_OUT, loan)]
        if queue:
            queue[0].status, queue[0].closed_at = HoldStatus.FULFILLED, now
            queue[0].item_id = item.id
            notices.append(_notice(NoticeCode.HOLD_FULFILLED))
        if item.loan_fee > 0:
            session.add(
                Fee(
                    patron_id=patron.id,
                    item_id=item.id,
                    fee_type=FeeType.RENTAL,
                    amount=item.loan_fee,
                    paid=0,
                    currency=self.policy.currency,
                    description=f"Phí mượn / Loan fee: {item.barcode}",
                    created_at=now,
                )
            )
            notices.append(_notice(NoticeCode.LOAN_FEE_CHARGED, amount=item.loan_fee))
        return accept(loan, notices, fee_amount=item.loan_fee)

    def _lend(
        self,
        session: Session,
        patron: Patron,
        item: Item,
        *,
        at: datetime,
        due_at: datetime,
        terminal: str,
        offline: bool = False,
    ) -> Loan:
        loan = Loan(
            item=item,
            patron=patron,
            checked_out_at=at,
            due_at=due_at,
            renewals=0,
            offline=offline,
            terminal=terminal,
            return_offline=False,
        )
        session.add(loan)
        item.status = CirculationStatus.CHARGED
        item.destination_branch_code = None
        # Flush now so that a concurrent loan of the same item fails here, on
        # the partial unique index, rather than at commit.
        session.flush()
        return loan

    def _checkout_offline(
        self,
        session: Session,
        patron: Patron,
        item: Item,
        *,
        at: datetime,
        nb_due_at: datetime | None,
        now: datetime,
        terminal: str,
        accept: Callable[..., CheckoutResult],
        refuse: Callable[..., CheckoutResult],
        due_notice: Callable[[NoticeCode, Loan], Notice],
    ) -> CheckoutResult:
        recorded = session.scalar(
            select(Loan).where(
                Loan.item_id == item.id, Loan.patron_id == patron.id, Loan.checked_out_at == at
            )
        )
        if recorded is not None:
            return accept(recorded, [_notice(NoticeCode.ALREADY_RECORDED)], already_recorded=True)
        notices: list[Notice] = []
        loan = self._open_loan(session, item.id)
        if loan is not None and loan.patron_id == patron.id:
            self._apply_renewal(loan, patron, at, nb_due_at)
            return accept(
                loan,
                [due_notice(NoticeCode.RENEWED, loan), _notice(NoticeCode.OFFLINE_ACCEPTED)],
                renewal_ok=True,
            )
        if loan is not None:
            if loan.checked_out_at >= at:
                return refuse(_notice(NoticeCode.CONFLICTING_LOAN), patron, item)
            self._close_loan(session, loan, at, offline=True)
            notices.append(_notice(NoticeCode.PREVIOUS_LOAN_CLOSED))
            session.flush()  # the old loan must be closed before the index sees the new one
        if item.status in (CirculationStatus.LOST, CirculationStatus.MISSING):
            notices.append(_notice(NoticeCode.ITEM_FOUND))
        for hold in self._queue(session, item, now):
            if hold.patron_id == patron.id:
                hold.status, hold.closed_at, hold.item_id = HoldStatus.FULFILLED, now, item.id
                notices.append(_notice(NoticeCode.HOLD_FULFILLED))
                break
            if hold.item_id == item.id and hold.status is not HoldStatus.WAITING:
                self._release(hold)
                notices.append(_notice(NoticeCode.HOLD_RELEASED))
        due = nb_due_at.astimezone(UTC) if nb_due_at else self._due(at, patron, item)
        new = self._lend(session, patron, item, at=at, due_at=due, terminal=terminal, offline=True)
        return accept(
            new,
            [
                due_notice(NoticeCode.CHECKED_OUT, new),
                _notice(NoticeCode.OFFLINE_ACCEPTED),
                *notices,
            ],
        )

    # ------------------------------------------------------------------ checkin

    def checkin(
        self,
        item_barcode: str,
        branch: str,
        *,
        terminal: str = "",
        no_block: bool = False,
        return_at: datetime | None = None,
    ) -> CheckinResult:
        """Checkin (09) at ``branch`` (the SIP2 current location, AP).

        ``return_at`` is honoured for offline replay (``no_block``) only; an
        online return happens now. The result says where the item goes next.
        """
        now = self._now()
        with self.store.write() as session:
            return self._checkin(
                session,
                item_barcode,
                branch,
                now=now,
                terminal=terminal,
                no_block=no_block,
                return_at=return_at,
            )

    def _checkin(
        self,
        session: Session,
        item_barcode: str,
        branch_code: str,
        *,
        now: datetime,
        terminal: str,
        no_block: bool,
        return_at: datetime | None,
    ) -> CheckinResult:
        draft = _CheckinDraft()

        def result(ok: bool, item: Item | None = None) -> CheckinResult:
            self._log(
                session,
                TransactionKind.CHECKIN,
                terminal=terminal,
                ok=ok,
                code=draft.notices[0].code,
                patron_barcode=draft.patron_barcode,
                item_barcode=item_barcode,
                offline=no_block,
            )
            return CheckinResult(
                ok=ok,
                resensitize=ok and item is not None,
                magnetic_media=_magnetic(item.media_type) if item else None,
                alert=draft.alert_type is not None,
                alert_type=draft.alert_type,
                sort_bin=draft.sort_bin,
                destination=draft.destination,
                destination_name=draft.destination_name,
                item=_item_summary(item) if item else None,
                patron_barcode=draft.patron_barcode,
                hold_patron_barcode=draft.hold_patron_barcode,
                hold_patron_name=draft.hold_patron_name,
                hold_pickup=draft.hold_pickup,
                fine_amount=draft.fine_amount,
                currency=self.policy.currency,
                was_on_loan=draft.was_on_loan,
                already_recorded=draft.already_recorded,
                notices=tuple(draft.notices),
            )

        item = self._item(session, item_barcode)
        if item is None:
            draft.notices.append(_notice(NoticeCode.ITEM_UNKNOWN))
            return result(False)
        branch = self._branch(session, branch_code)
        if branch is None:
            draft.notices.append(_notice(NoticeCode.UNKNOWN_BRANCH, branch=branch_code))
            return result(False, item)
        at = (return_at or now).astimezone(UTC) if no_block else now
        if at > now + self.policy.future_tolerance:
            draft.notices.append(_notice(NoticeCode.INVALID_DATE))
            return result(False, item)

        loan = self._open_loan(session, item.id)
        if loan is not None and at < loan.checked_out_at:
            # An offline return of an earlier loan, replayed after a newer checkout.
            draft.notices.append(_notice(NoticeCode.RETURN_PREDATES_LOAN))
            return result(True, item)
        if loan is not None:
            days, fine = self._close_loan(session, loan, at, offline=no_block)
            draft.notices.append(_notice(NoticeCode.CHECKED_IN))
            if fine:
                draft.notices.append(_notice(NoticeCode.OVERDUE_FINE, days=days, amount=fine))
            draft.was_on_loan, draft.fine_amount = True, fine
            draft.patron_barcode = loan.patron.barcode
        elif no_block and session.scalar(
            select(Loan.id).where(Loan.item_id == item.id, Loan.returned_at == at)
        ):
            draft.notices.append(_notice(NoticeCode.ALREADY_RECORDED))
            draft.already_recorded = True
        else:
            draft.notices.append(_notice(NoticeCode.NOT_ON_LOAN))
        if item.status in (CirculationStatus.LOST, CirculationStatus.MISSING):
            draft.notices.append(_notice(NoticeCode.ITEM_FOUND))
        if item.set_parts > 1:
            draft.notices.append(_notice(NoticeCode.SET_PARTS, parts=item.set_parts))
        item.current_branch_code = branch.code
        self._route(session, item, branch, now, draft)
        return result(True, item)

    def _route(
        self, session: Session, item: Item, branch: Branch, now: datetime, draft: _CheckinDraft
    ) -> None:
        """Decide where a returned item goes: hold shelf here, another branch, home, or shelf."""
        queue = self._queue(session, item, now)
        hold = queue[0] if queue else None
        if hold is not None:
            hold.item_id = item.id
            draft.hold_patron_barcode = hold.patron.barcode
            draft.hold_patron_name = hold.patron.name
            draft.hold_pickup = hold.pickup_branch_code
            if hold.pickup_branch_code == branch.code:
                if hold.status is not HoldStatus.READY:
                    hold.status, hold.ready_at = HoldStatus.READY, now
                    hold.ready_until = self.policy.end_of_local_day(
                        self.policy.local_day(now) + timedelta(days=self.policy.hold_shelf_days)
                    )
                item.status = CirculationStatus.WAITING_ON_HOLD_SHELF
                item.destination_branch_code = None
                draft.notices.append(_notice(NoticeCode.HOLD_HERE))
                draft.alert_type = AlertType.HOLD_LOCAL
                draft.sort_bin = self._sort_bin(session, item, branch.code, SortPurpose.HOLD)
                return
            hold.status, hold.ready_at, hold.ready_until = HoldStatus.IN_TRANSIT, None, None
            self._send(session, item, branch, hold.pickup_branch_code, draft)
            draft.alert_type = AlertType.HOLD_REMOTE
            draft.notices.append(
                _notice(NoticeCode.HOLD_ELSEWHERE, branch=draft.destination_name or "")
            )
            return
        if item.home_branch_code != branch.code:
            self._send(session, item, branch, item.home_branch_code, draft)
            draft.alert_type = AlertType.TRANSIT
            draft.notices.append(_notice(NoticeCode.TRANSIT, branch=draft.destination_name or ""))
            return
        item.status = CirculationStatus.AVAILABLE
        item.destination_branch_code = None
        draft.sort_bin = self._sort_bin(session, item, branch.code, SortPurpose.RESHELVE)

    def _send(
        self, session: Session, item: Item, here: Branch, to: str, draft: _CheckinDraft
    ) -> None:
        destination = self._branch(session, to)
        item.status = CirculationStatus.IN_TRANSIT
        item.destination_branch_code = to
        draft.destination = to
        draft.destination_name = destination.name if destination else to
        draft.sort_bin = self._sort_bin(session, item, here.code, SortPurpose.TRANSIT)

    # ------------------------------------------------------------------ renew

    def renew(
        self,
        patron_barcode: str,
        item_barcode: str,
        pin: str | None = None,
        *,
        terminal: str = "",
        no_block: bool = False,
        transaction_at: datetime | None = None,
        nb_due_at: datetime | None = None,
    ) -> RenewResult:
        """Renew (29) one loan. With ``no_block`` an offline renewal is recorded without rules."""
        now = self._now()
        with self.store.write() as session:
            result = self._renew(
                session,
                patron_barcode,
                item_barcode,
                pin,
                now=now,
                no_block=no_block,
                transaction_at=transaction_at,
                nb_due_at=nb_due_at,
            )
            self._log(
                session,
                TransactionKind.RENEW,
                terminal=terminal,
                ok=result.ok,
                code=result.code,
                patron_barcode=patron_barcode,
                item_barcode=item_barcode,
                offline=no_block,
            )
            return result

    def _renew_result(
        self,
        ok: bool,
        notice: Notice,
        patron: Patron | None,
        item: Item | None,
        loan: Loan | None,
    ) -> RenewResult:
        limit = self.policy.renewals_allowed(patron.patron_type) if patron else 0
        renewals = loan.renewals if loan else 0
        return RenewResult(
            ok=ok,
            renewal_ok=ok,
            valid_patron=patron is not None,
            magnetic_media=_magnetic(item.media_type) if item else None,
            desensitize=ok,
            due_at=loan.due_at if loan else None,
            item=_item_summary(item) if item else None,
            renewals=renewals,
            renewals_left=max(limit - renewals, 0),
            fee_type=None,
            fee_amount=0,
            currency=self.policy.currency,
            notices=(notice,),
        )

    def _renew(
        self,
        session: Session,
        patron_barcode: str,
        item_barcode: str,
        pin: str | None,
        *,
        now: datetime,
        no_block: bool,
        transaction_at: datetime | None,
        nb_due_at: datetime | None,
    ) -> RenewResult:
        patron = self._patron(session, patron_barcode)
        if patron is None:
            return self._renew_result(False, _notice(NoticeCode.PATRON_UNKNOWN), None, None, None)
        item = self._item(session, item_barcode)
        if not no_block and pin is not None and pin != patron.pin:
            return self._renew_result(False, _notice(NoticeCode.WRONG_PIN), patron, item, None)
        if item is None:
            return self._renew_result(False, _notice(NoticeCode.ITEM_UNKNOWN), patron, None, None)
        loan = self._open_loan(session, item.id)
        if loan is None or loan.patron_id != patron.id:
            return self._renew_result(
                False, _notice(NoticeCode.NOT_ON_LOAN_TO_YOU), patron, item, None
            )
        if no_block:
            at = (transaction_at or now).astimezone(UTC)
            self._apply_renewal(loan, patron, at, nb_due_at.astimezone(UTC) if nb_due_at else None)
        else:
            standing = self._standing(session, patron, now)
            refusal = self._renewal_refusal(session, loan, patron, standing, now)
            if refusal is not None:
                return self._renew_result(False, refusal, patron, item, loan)
            self._apply_renewal(loan, patron, now)
        notice = _notice(NoticeCode.RENEWED, due=loan.due_at.astimezone(self.policy.local_tz))
        return self._renew_result(True, notice, patron, item, loan)

    def renew_all(
        self, patron_barcode: str, pin: str | None = None, *, terminal: str = ""
    ) -> RenewAllResult:
        """Renew all (65): try every open loan; report which were renewed."""
        now = self._now()
        with self.store.write() as session:
            result = self._renew_all(session, patron_barcode, pin, now)
            self._log(
                session,
                TransactionKind.RENEW_ALL,
                terminal=terminal,
                ok=result.ok,
                code=result.notices[0].code,
                patron_barcode=patron_barcode,
            )
            return result

    def _renew_all(
        self, session: Session, patron_barcode: str, pin: str | None, now: datetime
    ) -> RenewAllResult:
        patron = self._patron(session, patron_barcode)
        if patron is None:
            return RenewAllResult(False, (), (), (_notice(NoticeCode.PATRON_UNKNOWN),))
        if pin is not None and pin != patron.pin:
            return RenewAllResult(False, (), (), (_notice(NoticeCode.WRONG_PIN),))
        standing = self._standing(session, patron, now)
        refusal = self._privilege_refusal(patron, standing, now)
        if refusal is not None:
            refused = tuple(loan.item.barcode for loan in standing.open_loans)
            return RenewAllResult(False, (), refused, (refusal,))
        renewed: list[str] = []
        unrenewed: list[str] = []
        for loan in standing.open_loans:
            if self._renewal_refusal(session, loan, patron, standing, now) is None:
                self._apply_renewal(loan, patron, now)
                renewed.append(loan.item.barcode)
            else:
                unrenewed.append(loan.item.barcode)
        summary = _notice(
            NoticeCode.RENEW_ALL_SUMMARY, renewed=len(renewed), unrenewed=len(unrenewed)
        )
        return RenewAllResult(True, tuple(renewed), tuple(unrenewed), (summary,))

    # ------------------------------------------------------------------ session, fees

    def end_session(self, patron_barcode: str, *, terminal: str = "") -> EndSessionResult:
        """End patron session (35). Nothing is held per session, so this only logs."""
        with self.store.write() as session:
            known = self._patron(session, patron_barcode) is not None
            notice = _notice(NoticeCode.SESSION_ENDED if known else NoticeCode.PATRON_UNKNOWN)
            self._log(
                session,
                TransactionKind.END_SESSION,
                terminal=terminal,
                ok=known,
                code=notice.code,
                patron_barcode=patron_barcode,
            )
            return EndSessionResult(known, (notice,))

    def fee_paid(
        self,
        patron_barcode: str,
        amount: int,
        *,
        payment_type: PaymentType = PaymentType.CASH,
        currency: str = "VND",
        fee_id: str | None = None,
        fee_type: FeeType | None = None,
        transaction_id: str | None = None,
        terminal: str = "",
    ) -> FeePaidResult:
        """Fee paid (37): apply a payment to one fee (``fee_id``) or to the oldest fees.

        ``fee_type`` narrows "the oldest fees" to one type (OTHER means any).
        Over-payment is refused rather than kept as credit. A repeated
        ``transaction_id`` is answered ok without paying twice.
        """
        now = self._now()
        with self.store.write() as session:
            result = self._fee_paid(
                session,
                patron_barcode,
                amount,
                payment_type=payment_type,
                currency=currency,
                fee_id=fee_id,
                fee_type=fee_type,
                transaction_id=transaction_id,
                terminal=terminal,
                now=now,
            )
            self._log(
                session,
                TransactionKind.FEE_PAID,
                terminal=terminal,
                ok=result.ok,
                code=result.notices[0].code,
                patron_barcode=patron_barcode,
            )
            return result

    def _fee_paid(
        self,
        session: Session,
        patron_barcode: str,
        amount: int,
        *,
        payment_type: PaymentType,
        currency: str,
        fee_id: str | None,
        fee_type: FeeType | None,
        transaction_id: str | None,
        terminal: str,
        now: datetime,
    ) -> FeePaidResult:
        def answer(
            ok: bool, notice: Notice, balance: int, applied: Iterable[FeeApplication] = ()
        ) -> FeePaidResult:
            return FeePaidResult(
                ok, transaction_id, tuple(applied), balance, self.policy.currency, (notice,)
            )

        patron = self._patron(session, patron_barcode)
        if patron is None:
            return answer(False, _notice(NoticeCode.PATRON_UNKNOWN), 0)
        fees = list(self._outstanding_fees(session, patron.id))
        balance = sum(fee.outstanding for fee in fees)
        if transaction_id and session.scalar(
            select(Payment.id).where(Payment.transaction_id == transaction_id)
        ):
            return answer(True, _notice(NoticeCode.DUPLICATE_PAYMENT), balance)
        if currency.strip().upper() != self.policy.currency:
            return answer(
                False,
                _notice(NoticeCode.PAYMENT_WRONG_CURRENCY, currency=self.policy.currency),
                balance,
            )
        if amount <= 0:
            return answer(False, _notice(NoticeCode.PAYMENT_INVALID_AMOUNT), balance)
        if fee_id is not None and fee_id.strip():
            targets = [fee for fee in fees if str(fee.id) == fee_id.strip()]
            if not targets:
                return answer(False, _notice(NoticeCode.FEE_UNKNOWN), balance)
        elif fee_type is not None and fee_type is not FeeType.OTHER:
            targets = [fee for fee in fees if fee.fee_type is fee_type]
        else:
            targets = fees
        payable = sum(fee.outstanding for fee in targets)
        if amount > payable:
            return answer(
                False,
                _notice(NoticeCode.PAYMENT_EXCEEDS_BALANCE, amount=amount, balance=payable),
                balance,
            )
        left = amount
        applied: list[FeeApplication] = []
        for fee in targets:
            if left == 0:
                break
            part = min(left, fee.outstanding)
            fee.paid += part
            if fee.outstanding == 0:
                fee.paid_at = now
            left -= part
            applied.append(FeeApplication(str(fee.id), part))
        session.add(
            Payment(
                patron_id=patron.id,
                amount=amount,
                currency=self.policy.currency,
                payment_type=payment_type,
                transaction_id=transaction_id or None,
                paid_at=now,
                terminal=terminal,
            )
        )
        balance -= amount
        notice = _notice(NoticeCode.PAYMENT_ACCEPTED, amount=amount, balance=balance)
        return answer(True, notice, balance, applied)

    # ------------------------------------------------------------------ holds

    def hold(
        self,
        patron_barcode: str,
        mode: HoldMode,
        *,
        item_barcode: str | None = None,
        title_id: str | None = None,
        pickup_location: str | None = None,
        expires_at: datetime | None = None,
        pin: str | None = None,
        terminal: str = "",
    ) -> HoldResult:
        """Hold (15): place (+), cancel (-) or change (*) a hold.

        With ``item_barcode`` the hold is on that copy; with only ``title_id``
        (a bib id, or an exact title in any Unicode normal form) it is on any
        copy of the title. Pickup defaults to the patron's home library.
        """
        now = self._now()
        with self.store.write() as session:
            result = self._hold(
                session,
                patron_barcode,
                mode,
                item_barcode=item_barcode,
                title_id=title_id,
                pickup_location=pickup_location,
                expires_at=expires_at,
                pin=pin,
                now=now,
            )
            self._log(
                session,
                TransactionKind.HOLD,
                terminal=terminal,
                ok=result.ok,
                code=result.notices[0].code,
                patron_barcode=patron_barcode,
                item_barcode=item_barcode,
            )
            return result

    def _resolve_bib(self, session: Session, title_id: str) -> str | None:
        wanted = title_id.strip()
        if not wanted:
            return None
        if session.scalar(select(Item.id).where(Item.bib_id == wanted).limit(1)):
            return wanted
        exact = session.scalar(select(Item.bib_id).where(Item.title == wanted).limit(1))
        if exact:
            return exact
        # Titles may be stored NFD (as Evergreen sends them) and typed NFC, or the reverse.
        nfc = unicodedata.normalize("NFC", wanted).casefold()
        for bib_id, title in session.execute(select(Item.bib_id, Item.title)):
            if unicodedata.normalize("NFC", title).casefold() == nfc:
                return bib_id
        return None

    def _hold(
        self,
        session: Session,
        patron_barcode: str,
        mode: HoldMode,
        *,
        item_barcode: str | None,
        title_id: str | None,
        pickup_location: str | None,
        expires_at: datetime | None,
        pin: str | None,
        now: datetime,
    ) -> HoldResult:
        def answer(
            ok: bool,
            notice: Notice,
            hold: Hold | None = None,
            *,
            available: bool = False,
            position: int | None = None,
        ) -> HoldResult:
            return HoldResult(
                ok=ok,
                available=available,
                queue_position=position,
                expires_at=hold.expires_at if hold else None,
                pickup_location=hold.pickup_branch_code if hold else None,
                item_barcode=hold.item.barcode if hold and hold.item else item_barcode,
                bib_id=hold.bib_id if hold else None,
                title=self._bib_title(session, hold.bib_id) if hold else None,
                notices=(notice,),
            )

        patron = self._patron(session, patron_barcode)
        if patron is None:
            return answer(False, _notice(NoticeCode.PATRON_UNKNOWN))
        if pin is not None and pin != patron.pin:
            return answer(False, _notice(NoticeCode.WRONG_PIN))
        item: Item | None = None
        if item_barcode:
            item = self._item(session, item_barcode)
            if item is None:
                return answer(False, _notice(NoticeCode.ITEM_UNKNOWN))
            bib_id: str | None = item.bib_id
        else:
            bib_id = self._resolve_bib(session, title_id or "")
            if bib_id is None:
                return answer(False, _notice(NoticeCode.TITLE_UNKNOWN))
        if pickup_location and self._branch(session, pickup_location) is None:
            return answer(False, _notice(NoticeCode.UNKNOWN_BRANCH, branch=pickup_location))

        active = [
            hold
            for hold in session.scalars(
                select(Hold).where(Hold.patron_id == patron.id, Hold.status.in_(ACTIVE_HOLD_STATES))
            )
            if not self._expire_if_due(hold, now)
        ]
        if item is not None:
            existing = next(
                (
                    h
                    for h in active
                    if h.item_id == item.id or (h.bib_id == bib_id and not h.item_level)
                ),
                None,
            )
        else:
            existing = next((h for h in active if h.bib_id == bib_id), None)

        if mode is HoldMode.DELETE:
            if existing is None:
                return answer(False, _notice(NoticeCode.HOLD_NOT_FOUND))
            if existing.status is HoldStatus.READY and existing.item is not None:
                # Off the hold shelf; the next checkin traps it for the next in line.
                existing.item.status = CirculationStatus.WAITING_TO_BE_RESHELVED
            existing.status, existing.closed_at = HoldStatus.CANCELLED, now
            return answer(True, _notice(NoticeCode.HOLD_CANCELLED), existing)

        if mode is HoldMode.CHANGE:
            if existing is None:
                return answer(False, _notice(NoticeCode.HOLD_NOT_FOUND))
            if pickup_location:
                existing.pickup_branch_code = pickup_location
            if expires_at is not None:
                existing.expires_at = expires_at.astimezone(UTC)
            return answer(True, _notice(NoticeCode.HOLD_CHANGED), existing)

        standing = self._standing(session, patron, now)
        if PatronStatusFlag.HOLD_PRIVILEGES_DENIED in standing.flags:
            return answer(False, _notice(NoticeCode.HOLD_DENIED))
        if existing is not None:
            return answer(False, _notice(NoticeCode.HOLD_EXISTS), existing)
        own = [loan.item for loan in standing.open_loans]
        if (item is not None and item in own) or (
            item is None and any(i.bib_id == bib_id for i in own)
        ):
            return answer(False, _notice(NoticeCode.HOLD_ON_OWN_LOAN))
        if len(active) >= self.policy.hold_limit:
            return answer(False, _notice(NoticeCode.HOLD_LIMIT, limit=self.policy.hold_limit))
        assert bib_id is not None
        hold = Hold(
            patron_id=patron.id,
            bib_id=bib_id,
            item=item,
            item_level=item is not None,
            pickup_branch_code=pickup_location or patron.home_branch_code,
            status=HoldStatus.WAITING,
            placed_at=now,
            expires_at=expires_at.astimezone(UTC) if expires_at else None,
        )
        session.add(hold)
        session.flush()
        copies = (
            [item]
            if item is not None
            else list(session.scalars(select(Item).where(Item.bib_id == bib_id)))
        )
        available = any(c.status is CirculationStatus.AVAILABLE for c in copies)
        queue_item = item or copies[0]
        queue = self._queue(session, queue_item, now)
        position = next((i + 1 for i, h in enumerate(queue) if h.id == hold.id), len(queue))
        notice = _notice(NoticeCode.HOLD_PLACED, position=position)
        return answer(True, notice, hold, available=available, position=position)

    # ------------------------------------------------------------------ staff-ish messages

    def item_status_update(
        self, item_barcode: str, properties: str, *, terminal: str = ""
    ) -> ItemStatusUpdateResult:
        """Item status update (19): store the item properties (CH) the device sent."""
        with self.store.write() as session:
            item = self._item(session, item_barcode)
            if item is None:
                notice = _notice(NoticeCode.ITEM_UNKNOWN)
            else:
                item.properties = properties
                notice = _notice(NoticeCode.ITEM_PROPERTIES_UPDATED)
            self._log(
                session,
                TransactionKind.ITEM_STATUS_UPDATE,
                terminal=terminal,
                ok=item is not None,
                code=notice.code,
                item_barcode=item_barcode,
            )
            return ItemStatusUpdateResult(
                item is not None, _item_summary(item) if item else None, (notice,)
            )

    def patron_enable(
        self, patron_barcode: str, pin: str | None = None, *, terminal: str = ""
    ) -> PatronStatusResult:
        """Patron enable (25): lift a block that a device set; a staff block stays."""
        now = self._now()
        with self.store.write() as session:
            patron = self._patron(session, patron_barcode)
            extra: tuple[Notice, ...] = ()
            if patron is not None and (pin is None or pin == patron.pin) and patron.blocked:
                if patron.block_source is BlockSource.KIOSK:
                    patron.blocked, patron.block_reason, patron.block_source = False, None, None
                    extra = (_notice(NoticeCode.PATRON_ENABLED),)
                else:
                    extra = (_notice(NoticeCode.PATRON_STILL_BLOCKED),)
            session.flush()
            result, _, _ = self._status_result(session, patron_barcode, pin, now, extra)
            self._log(
                session,
                TransactionKind.PATRON_ENABLE,
                terminal=terminal,
                ok=result.ok and not (patron is not None and patron.blocked),
                code=result.notices[0].code,
                patron_barcode=patron_barcode,
            )
            return result

    def block_patron(
        self,
        patron_barcode: str,
        reason: str = "",
        *,
        card_retained: bool = False,
        terminal: str = "",
    ) -> PatronStatusResult:
        """Block patron (01): a device found misuse (e.g. a reported-lost card). Answered as 24."""
        now = self._now()
        with self.store.write() as session:
            patron = self._patron(session, patron_barcode)
            extra: tuple[Notice, ...] = ()
            if patron is not None:
                text = (
                    reason.strip() or "Khóa bởi máy tự phục vụ / Blocked by a self-service device"
                )
                if card_retained:
                    text += " (thẻ bị giữ lại / card retained)"
                if not patron.blocked:
                    patron.block_source = BlockSource.KIOSK
                patron.blocked = True
                patron.block_reason = text
                extra = (_notice(NoticeCode.PATRON_BLOCKED_NOW),)
            session.flush()
            result, _, _ = self._status_result(session, patron_barcode, None, now, extra)
            self._log(
                session,
                TransactionKind.BLOCK_PATRON,
                terminal=terminal,
                ok=patron is not None,
                code=result.notices[0].code,
                patron_barcode=patron_barcode,
            )
            return result
