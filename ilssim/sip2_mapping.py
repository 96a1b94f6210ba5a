"""Turns SIP2 requests into circulation calls and results into SIP2 responses.

This is the only place where the simulator speaks SIP2 field by field; the
rules live in :mod:`ilssim.circulation` and the wire in
:mod:`ilssim.server`. Dates on the wire are local library time (SIP2
dates carry no zone in practice); the circulation layer works in aware UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from enum import Enum
from typing import Any, TypeVar

from ilssim.circulation import (
    CheckoutResult,
    Circulation,
    Notice,
    PatronStatusResult,
    RenewResult,
)
from ilssim.models import TransactionKind
from ilssim.server import CloseConnection, Session
from protocols.sip2 import (
    ACSStatusResponse,
    BlockPatronRequest,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    FeePaidRequest,
    FeePaidResponse,
    FeeType,
    HoldMode,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    ItemStatusUpdateRequest,
    ItemStatusUpdateResponse,
    LoginRequest,
    LoginResponse,
    Message,
    PatronEnableRequest,
    PatronEnableResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    PaymentType,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    SCStatusRequest,
    format_date,
    parse_date,
)

log = logging.getLogger(__name__)

# Every message of SIP2 2.00 is supported, in the BX order of the spec.
SUPPORTED_MESSAGES = "Y" * 16


class NotLoggedIn(CloseConnection):
    """A request before a successful login, on a simulator that requires one."""


class SipMapping:
    """The simulator's request handler: ``mapping(request, session) -> response``.

    ``accounts`` maps SIP2 login user ids to passwords; when empty, any login
    succeeds and no login is required (a lab ILS). ``screen_language`` picks
    the AF text: "patron" (the patron's own language), "vi", "en" or "both".
    """

    def __init__(
        self,
        circulation: Circulation,
        *,
        institution: str = "MUONTRA",
        library_name: str = "Thư viện Muontra (mô phỏng)",
        accounts: Mapping[str, str] | None = None,
        screen_language: str = "patron",
        location: str = "TT",
    ) -> None:
        self.circulation = circulation
        self.institution = institution
        self.library_name = library_name
        self.accounts = dict(accounts or {})
        self.screen_language = screen_language
        self.location = location
        self.local_tz: tzinfo = circulation.policy.local_tz

    def __call__(self, request: Message, session: Session) -> Message | None:
        if isinstance(request, LoginRequest):
            return self._login(request, session)
        if isinstance(request, SCStatusRequest):
            return self._status(session)
        if self.accounts and not session.logged_in:
            raise NotLoggedIn(f"{request.name} before login")
        terminal = session.user or session.peer
        handler = _HANDLERS.get(type(request))
        if handler is None:
            log.warning("no handler for %s", request.name)
            return None
        return handler(self, request, terminal)

    # --- helpers -------------------------------------------------------------------

    def _now(self) -> str:
        return format_date(self.circulation.clock().astimezone(self.local_tz).replace(tzinfo=None))

    def _date(self, when: datetime | None) -> str | None:
        if when is None:
            return None
        return format_date(when.astimezone(self.local_tz).replace(tzinfo=None))

    def _wire_date(self, raw: datetime | None) -> datetime | None:
        """A request date (local wall time) as an aware datetime."""
        return None if raw is None else raw.replace(tzinfo=self.local_tz)

    def _af(self, notices: Iterable[Notice], language: str | None = None) -> tuple[str, ...]:
        choice = self.screen_language
        if choice == "patron":
            choice = language or "vi"
        if choice == "both":
            return tuple(n.bilingual for n in notices)
        return tuple(n.text(choice) for n in notices)

    # --- login and status ---------------------------------------------------------------

    def _login(self, request: LoginRequest, session: Session) -> Message:
        user = request.login_user_id or ""
        ok = not self.accounts or self.accounts.get(user) == (request.login_password or "")
        session.user = user if ok else None
        self.circulation.log_request(TransactionKind.LOGIN, terminal=user, ok=ok)
        return LoginResponse.create(ok=ok)

    def _status(self, session: Session) -> Message:
        self.circulation.log_request(
            TransactionKind.SC_STATUS, terminal=session.user or session.peer, ok=True
        )
        return ACSStatusResponse.create(
            online_status=True,
            checkin_ok=True,
            checkout_ok=True,
            acs_renewal_policy=True,
            status_update_ok=True,
            offline_ok=True,
            timeout_period="030",
            retries_allowed="003",
            date_time_sync=self._now(),
            institution_id=self.institution,
            library_name=self.library_name,
            supported_messages=SUPPORTED_MESSAGES,
            terminal_location=self.location,
        )

    # --- patrons ----------------------------------------------------------------------------

    def _patron_status(self, request: PatronStatusRequest, terminal: str) -> Message:
        pin = request.patron_password or None
        result = self.circulation.patron_status(request.patron_id or "", pin, terminal=terminal)
        return self._status_response(PatronStatusResponse, request, result, pin)

    def _patron_enable(self, request: PatronEnableRequest, terminal: str) -> Message:
        pin = request.patron_password or None
        result = self.circulation.patron_enable(request.patron_id or "", pin, terminal=terminal)
        return self._status_response(PatronEnableResponse, request, result, pin)

    def _block_patron(self, request: BlockPatronRequest, terminal: str) -> Message:
        result = self.circulation.block_patron(
            request.patron_id or "",
            request.blocked_card_message or "",
            card_retained=bool(request.card_retained),
            terminal=terminal,
        )
        return self._status_response(PatronStatusResponse, request, result, None)

    def _status_response(
        self,
        cls: type[PatronStatusResponse] | type[PatronEnableResponse],
        request: Message,
        result: PatronStatusResult,
        pin: str | None,
    ) -> Message:
        patron = result.patron
        values: dict[str, Any] = {
            "patron_status": result.flags,
            "language": patron.sip2_language if patron else "000",
            "transaction_date": self._now(),
            "institution_id": self.institution,
            "patron_id": request.get("AA") or "",
            "personal_name": patron.name if patron else "",
            "valid_patron": result.valid_patron,
            "screen_message": self._af(result.notices, patron.language if patron else None),
        }
        if pin is not None:
            values["valid_patron_password"] = bool(result.valid_pin)
        if cls is PatronStatusResponse:
            values["currency"] = result.currency
            values["fee_amount"] = str(result.fee_amount)
        return cls.create(**values)

    def _patron_information(self, request: PatronInformationRequest, terminal: str) -> Message:
        pin = request.patron_password or None
        result = self.circulation.patron_information(
            request.patron_id or "",
            pin,
            start=request.start_item or 1,
            end=request.end_item,
            terminal=terminal,
        )
        status = result.status
        patron = status.patron
        summary = request.summary
        wanted = {
            "hold_items": 0,
            "overdue_items": 1,
            "charged_items": 2,
            "fine_items": 3,
            "recall_items": 4,
            "unavailable_hold_items": 5,
        }
        lists = {
            "hold_items": result.items.hold,
            "overdue_items": result.items.overdue,
            "charged_items": result.items.charged,
            "fine_items": result.items.fine,
            "recall_items": result.items.recall,
            "unavailable_hold_items": result.items.unavailable_hold,
        }
        values: dict[str, Any] = {
            "patron_status": status.flags,
            "language": patron.sip2_language if patron else "000",
            "transaction_date": self._now(),
            "hold_items_count": result.hold_items_count,
            "overdue_items_count": result.overdue_items_count,
            "charged_items_count": result.charged_items_count,
            "fine_items_count": result.fine_items_count,
            "recall_items_count": result.recall_items_count,
            "unavailable_holds_count": result.unavailable_holds_count,
            "institution_id": self.institution,
            "patron_id": request.patron_id or "",
            "personal_name": patron.name if patron else "",
            "valid_patron": status.valid_patron,
            "screen_message": self._af(status.notices, patron.language if patron else None),
        }
        if patron is not None:
            values.update(
                hold_items_limit=result.hold_items_limit,
                overdue_items_limit=result.overdue_items_limit,
                charged_items_limit=result.charged_items_limit,
                currency=status.currency,
                fee_amount=str(status.fee_amount),
                fee_limit=str(result.fee_limit),
                email=patron.email,
            )
            # SIP2: the summary's Y picks the one list to send; real kiosks often send
            # none and still expect the charged items, as Koha and Evergreen do.
            chosen = [name for name, pos in wanted.items() if summary[pos : pos + 1] == "Y"]
            for name in chosen or ["charged_items", "hold_items", "overdue_items"]:
                values[name] = lists[name]
        if pin is not None:
            values["valid_patron_password"] = bool(status.valid_pin)
        return PatronInformationResponse.create(**values)

    # --- items ----------------------------------------------------------------------------

    def _item_information(self, request: ItemInformationRequest, terminal: str) -> Message:
        result = self.circulation.item_information(request.item_id or "", terminal=terminal)
        item = result.item
        values: dict[str, Any] = {
            "transaction_date": self._now(),
            "item_id": request.item_id or "",
            "title": item.title if item else "",
            "screen_message": self._af(result.notices),
        }
        if item is not None:
            values.update(
                circulation_status=item.circulation_status.value,
                security_marker=item.security_marker.value,
                fee_type=(result.fee_type or FeeType.OTHER).value,
                hold_queue_length=str(result.hold_queue_length),
                due_date=self._date(result.due_at),
                hold_pickup_date=self._date(result.hold_pickup_date),
                owner=item.owner,
                media_type=item.media_type.value,
                permanent_location=item.permanent_location,
                current_location=item.current_location,
                item_properties=item.properties or None,
                call_number=item.call_number,
                destination_location=item.destination,
            )
            if result.fee_amount:
                values.update(currency=result.currency, fee_amount=str(result.fee_amount))
        return ItemInformationResponse.create(**values)

    def _item_status_update(self, request: ItemStatusUpdateRequest, terminal: str) -> Message:
        result = self.circulation.item_status_update(
            request.item_id or "", request.item_properties or "", terminal=terminal
        )
        return ItemStatusUpdateResponse.create(
            item_properties_ok=result.ok,
            transaction_date=self._now(),
            item_id=request.item_id or "",
            title=result.item.title if result.item else None,
            item_properties=result.item.properties if result.item else None,
            screen_message=self._af(result.notices),
        )

    # --- circulation ------------------------------------------------------------------------

    def _checkout(self, request: CheckoutRequest, terminal: str) -> Message:
        result = self.circulation.checkout(
            request.patron_id or "",
            request.item_id or "",
            request.patron_password or None,
            terminal=terminal,
            renewal_allowed=bool(request.sc_renewal_policy),
            no_block=bool(request.no_block),
            transaction_at=self._wire_date(request.transaction_date) if request.no_block else None,
            nb_due_at=self._wire_date(request.nb_due_date),
            fee_acknowledged=bool(request.fee_acknowledged),
        )
        language = result.patron.language if result.patron else None
        values = self._loan_values(request, result, language)
        return CheckoutResponse.create(**values)

    def _loan_values(
        self,
        request: CheckoutRequest | RenewRequest,
        result: CheckoutResult | RenewResult,
        language: str | None,
    ) -> dict[str, Any]:
        """What a checkout (12) and a renew (30) response both carry."""
        item = result.item
        values: dict[str, Any] = {
            "ok": result.ok,
            "renewal_ok": result.renewal_ok,
            "magnetic_media": result.magnetic_media,
            "desensitize": result.desensitize if result.ok else False,
            "transaction_date": self._now(),
            "institution_id": self.institution,
            "patron_id": request.patron_id or "",
            "item_id": request.item_id or "",
            "title": item.title if item else "",
            "due_date": self._date(result.due_at) or "",
            "media_type": item.media_type.value if item else None,
            "screen_message": self._af(result.notices, language),
        }
        if result.fee_amount:
            values.update(
                fee_type=(result.fee_type or FeeType.OTHER).value,
                currency=result.currency,
                fee_amount=str(result.fee_amount),
            )
        return values

    def _checkin(self, request: CheckinRequest, terminal: str) -> Message:
        result = self.circulation.checkin(
            request.item_id or "",
            request.current_location or self.location,
            terminal=terminal,
            no_block=bool(request.no_block),
            return_at=self._wire_date(request.return_date) if request.no_block else None,
        )
        item = result.item
        return CheckinResponse.create(
            ok=result.ok,
            resensitize=result.resensitize,
            magnetic_media=result.magnetic_media,
            alert=result.alert,
            transaction_date=self._now(),
            institution_id=self.institution,
            item_id=request.item_id or "",
            permanent_location=item.permanent_location if item else "",
            title=item.title if item else None,
            sort_bin=result.sort_bin,
            patron_id=result.patron_barcode,
            media_type=item.media_type.value if item else None,
            destination_location=result.destination,
            alert_type=result.alert_type.value if result.alert_type else None,
            hold_patron_id=result.hold_patron_barcode,
            hold_patron_name=result.hold_patron_name,
            call_number=item.call_number if item else None,
            screen_message=self._af(result.notices),
        )

    def _renew(self, request: RenewRequest, terminal: str) -> Message:
        result = self.circulation.renew(
            request.patron_id or "",
            request.item_id or "",
            request.patron_password or None,
            terminal=terminal,
            no_block=bool(request.no_block),
            transaction_at=self._wire_date(request.transaction_date) if request.no_block else None,
            nb_due_at=self._wire_date(request.nb_due_date),
        )
        values = self._loan_values(request, result, None)
        return RenewResponse.create(**values)

    def _renew_all(self, request: RenewAllRequest, terminal: str) -> Message:
        result = self.circulation.renew_all(
            request.patron_id or "", request.patron_password or None, terminal=terminal
        )
        return RenewAllResponse.create(
            ok=result.ok,
            renewed_count=result.renewed_count,
            unrenewed_count=result.unrenewed_count,
            transaction_date=self._now(),
            institution_id=self.institution,
            renewed_items=result.renewed,
            unrenewed_items=result.unrenewed,
            screen_message=self._af(result.notices),
        )

    def _end_session(self, request: EndPatronSessionRequest, terminal: str) -> Message:
        result = self.circulation.end_session(request.patron_id or "", terminal=terminal)
        return EndSessionResponse.create(
            end_session=result.ok,
            transaction_date=self._now(),
            institution_id=self.institution,
            patron_id=request.patron_id or "",
            screen_message=self._af(result.notices),
        )

    def _fee_paid(self, request: FeePaidRequest, terminal: str) -> Message:
        amount_text = (request.fee_amount or "0").strip()
        try:
            amount = round(float(amount_text.replace(",", "")))
        except ValueError:
            amount = -1
        result = self.circulation.fee_paid(
            request.patron_id or "",
            amount,
            payment_type=_enum(PaymentType, request.payment_type, PaymentType.CASH),
            currency=request.currency_type.strip() or "VND",
            fee_id=request.fee_identifier,
            fee_type=_enum(FeeType, request.fee_type, FeeType.OTHER),
            transaction_id=request.transaction_id,
            terminal=terminal,
        )
        return FeePaidResponse.create(
            payment_accepted=result.ok,
            transaction_date=self._now(),
            institution_id=self.institution,
            patron_id=request.patron_id or "",
            transaction_id=result.transaction_id,
            screen_message=self._af(result.notices),
        )

    def _hold(self, request: HoldRequest, terminal: str) -> Message:
        expiry = request.expiration_date
        result = self.circulation.hold(
            request.patron_id or "",
            _enum(HoldMode, request.hold_mode, HoldMode.ADD),
            item_barcode=request.item_id or None,
            title_id=request.title or None,
            pickup_location=request.pickup_location or None,
            expires_at=self._wire_date(parse_date(expiry)) if expiry else None,
            pin=request.patron_password or None,
            terminal=terminal,
        )
        return HoldResponse.create(
            ok=result.ok,
            available=result.available,
            transaction_date=self._now(),
            expiration_date=self._date(result.expires_at),
            queue_position=result.queue_position,
            pickup_location=result.pickup_location,
            institution_id=self.institution,
            patron_id=request.patron_id or "",
            item_id=result.item_barcode,
            title=result.title,
            screen_message=self._af(result.notices),
        )


E = TypeVar("E", bound=Enum)


def _enum(cls: type[E], raw: str, default: E) -> E:
    """The code ``raw`` as ``cls``; an unknown code from a device falls back to ``default``."""
    try:
        return cls(raw)
    except ValueError:
        return default


_HANDLERS: dict[type[Message], Callable[[SipMapping, Any, str], Message]] = {
    PatronStatusRequest: SipMapping._patron_status,
    PatronInformationRequest: SipMapping._patron_information,
    PatronEnableRequest: SipMapping._patron_enable,
    BlockPatronRequest: SipMapping._block_patron,
    ItemInformationRequest: SipMapping._item_information,
    ItemStatusUpdateRequest: SipMapping._item_status_update,
    CheckoutRequest: SipMapping._checkout,
    CheckinRequest: SipMapping._checkin,
    RenewRequest: SipMapping._renew,
    RenewAllRequest: SipMapping._renew_all,
    EndPatronSessionRequest: SipMapping._end_session,
    FeePaidRequest: SipMapping._fee_paid,
    HoldRequest: SipMapping._hold,
}
