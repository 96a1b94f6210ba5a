"""The calls a kiosk makes to its ILS, each built for the ILS's dialect profile.

Every call returns the ILS's typed answer (``CheckoutResponse``…), so the
screen messages (AF) the ILS sent reach the patron verbatim. Transaction dates
are local time from an injectable clock; offline replay passes its own.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from engine.ils.connection import SipConnection
from engine.ils.errors import IlsError
from engine.ils.url import IlsSettings, parse_ils_url
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
    Message,
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
    SIP2Error,
    format_date,
)
from protocols.sip2.dates import format_iso_date

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Message)

# Positions of the 10-character summary in Patron Information (63).
SUMMARY_LISTS = (
    "hold",
    "overdue",
    "charged",
    "fine",
    "recall",
    "unavailable_hold",
)


def summary_field(which: str | None) -> str:
    """The summary that asks for one item list ("charged", "hold"…), or none."""
    if which is None:
        return " " * 10
    if which not in SUMMARY_LISTS:
        raise ValueError(f"unknown item list {which!r}; one of {', '.join(SUMMARY_LISTS)}")
    index = SUMMARY_LISTS.index(which)
    return " " * index + "Y" + " " * (9 - index)


class IlsClient:
    """SIP2 calls over a small pool of self-healing connections."""

    def __init__(
        self,
        settings: IlsSettings | str,
        *,
        clock: Callable[[], datetime] = datetime.now,
        connection_factory: Callable[[IlsSettings], SipConnection] = SipConnection,
    ) -> None:
        self.settings = parse_ils_url(settings) if isinstance(settings, str) else settings
        self.clock = clock
        self._pool: queue.LifoQueue[SipConnection] = queue.LifoQueue()
        self._all = [connection_factory(self.settings) for _ in range(self.settings.pool)]
        for connection in self._all:
            self._pool.put(connection)

    def watch(self, on_refused: Callable[[IlsError], None]) -> None:
        """Tell ``on_refused`` of every refused SIP2 login and unverified TLS certificate
        (:class:`IlsLoginError`, :class:`~engine.ils.errors.IlsTlsUnverified`)."""
        for connection in self._all:
            connection.on_refused = on_refused

    def close(self) -> None:
        for connection in self._all:
            connection.close()

    def connect_all(self) -> int:
        """Open every pooled connection now (a daemon's start), so no patron waits for a
        SIP2 login later; returns how many are up. Failures are left for the reconnect
        logic of each call."""
        up = 0
        for connection in self._all:
            try:
                if not connection.connected:
                    connection.connect()
                up += 1
            except IlsError as error:
                log.warning("ILS not reachable at start: %s", error)
        return up

    def __enter__(self) -> IlsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _connection(self) -> Iterator[SipConnection]:
        connection = self._pool.get(timeout=self.settings.timeout * 2)
        try:
            yield connection
        finally:
            self._pool.put(connection)

    def _date(self, when: datetime | None = None) -> str:
        moment = when or self.clock()
        if self.settings.profile.date_format == "iso":
            return format_iso_date(moment)
        return format_date(moment)

    def _build(self, cls: type[R], **values: Any) -> R:
        """A request with the profile's conventions: AO, AC, always-sent fields, dates."""
        profile = self.settings.profile
        declared = {var.name: var.field_id for var in cls.VARIABLE}
        if "institution_id" in declared:
            values.setdefault(
                "institution_id", self.settings.institution if profile.send_institution_id else ""
            )
        if "terminal_password" in declared:
            wanted = profile.send_terminal_password or "AC" in profile.always_send
            values.setdefault(
                "terminal_password", self.settings.terminal_password if wanted else None
            )
        for name, field_id in declared.items():
            if field_id in profile.always_send and values.get(name) is None:
                values[name] = ""
        for spec in cls.FIXED:
            if spec.is_date and spec.name == "transaction_date":
                values.setdefault("transaction_date", self._date())
            elif spec.is_date and isinstance(values.get(spec.name), datetime):
                values[spec.name] = self._date(values[spec.name])
        return cls.create(**values)

    def call(self, request: Message, expected: type[R]) -> R:
        """Send any request and check the answer's type."""
        with self._connection() as connection:
            answer = connection.request(request)
        if not isinstance(answer, expected):
            raise SIP2Error(f"the ILS answered {request.name} with {answer.name}")
        return answer

    # --- the calls ---------------------------------------------------------------------

    def sc_status(self) -> ACSStatusResponse:
        return self.call(SCStatusRequest.create(max_print_width="040"), ACSStatusResponse)

    def patron_status(self, patron_id: str, pin: str | None = None) -> PatronStatusResponse:
        request = self._build(PatronStatusRequest, patron_id=patron_id, patron_password=pin or "")
        return self.call(request, PatronStatusResponse)

    def patron_information(
        self,
        patron_id: str,
        pin: str | None = None,
        *,
        summary: str | None = "charged",
        start: int | None = None,
        end: int | None = None,
    ) -> PatronInformationResponse:
        request = self._build(
            PatronInformationRequest,
            patron_id=patron_id,
            patron_password=pin,
            summary=summary_field(summary),
            start_item=start,
            end_item=end,
        )
        return self.call(request, PatronInformationResponse)

    def item_information(self, item_id: str) -> ItemInformationResponse:
        return self.call(
            self._build(ItemInformationRequest, item_id=item_id), ItemInformationResponse
        )

    def checkout(
        self,
        patron_id: str,
        item_id: str,
        pin: str | None = None,
        *,
        no_block: bool = False,
        transaction_date: datetime | None = None,
        nb_due_date: datetime | None = None,
        renewal_policy: bool = True,
        fee_acknowledged: bool | None = None,
    ) -> CheckoutResponse:
        """Checkout; ``no_block`` with the original date replays an offline loan."""
        request = self._build(
            CheckoutRequest,
            sc_renewal_policy=renewal_policy,
            no_block=no_block,
            transaction_date=self._date(transaction_date),
            nb_due_date=self._date(nb_due_date) if nb_due_date else None,
            patron_id=patron_id,
            item_id=item_id,
            patron_password=pin,
            fee_acknowledged=fee_acknowledged,
        )
        return self.call(request, CheckoutResponse)

    def checkin(
        self,
        item_id: str,
        *,
        return_date: datetime | None = None,
        no_block: bool = False,
        location: str | None = None,
    ) -> CheckinResponse:
        """Checkin; ``no_block`` with ``return_date`` replays an offline return."""
        now = self._date()
        request = self._build(
            CheckinRequest,
            no_block=no_block,
            transaction_date=now,
            return_date=self._date(return_date) if return_date else now,
            current_location=location or self.settings.location,
            item_id=item_id,
        )
        return self.call(request, CheckinResponse)

    def renew(
        self,
        patron_id: str,
        item_id: str,
        pin: str | None = None,
        *,
        no_block: bool = False,
        transaction_date: datetime | None = None,
    ) -> RenewResponse:
        request = self._build(
            RenewRequest,
            no_block=no_block,
            transaction_date=self._date(transaction_date),
            patron_id=patron_id,
            item_id=item_id,
            patron_password=pin,
        )
        return self.call(request, RenewResponse)

    def renew_all(self, patron_id: str, pin: str | None = None) -> RenewAllResponse:
        request = self._build(RenewAllRequest, patron_id=patron_id, patron_password=pin)
        return self.call(request, RenewAllResponse)

    def end_session(self, patron_id: str, pin: str | None = None) -> EndSessionResponse:
        request = self._build(EndPatronSessionRequest, patron_id=patron_id, patron_password=pin)
        return self.call(request, EndSessionResponse)

    def fee_paid(
        self,
        patron_id: str,
        amount: str,
        *,
        fee_type: FeeType = FeeType.OTHER,
        payment_type: PaymentType = PaymentType.CASH,
        currency: str = "VND",
        fee_id: str | None = None,
        transaction_id: str | None = None,
        pin: str | None = None,
    ) -> FeePaidResponse:
        request = self._build(
            FeePaidRequest,
            fee_type=fee_type,
            payment_type=payment_type,
            currency_type=currency,
            fee_amount=amount,
            patron_id=patron_id,
            patron_password=pin,
            fee_identifier=fee_id,
            transaction_id=transaction_id,
        )
        return self.call(request, FeePaidResponse)

    def hold(
        self,
        patron_id: str,
        mode: HoldMode = HoldMode.ADD,
        *,
        item_id: str | None = None,
        title: str | None = None,
        pickup: str | None = None,
        expiry: datetime | None = None,
        pin: str | None = None,
    ) -> HoldResponse:
        request = self._build(
            HoldRequest,
            hold_mode=mode,
            expiration_date=self._date(expiry) if expiry else None,
            pickup_location=pickup,
            patron_id=patron_id,
            patron_password=pin,
            item_id=item_id,
            title=title,
        )
        return self.call(request, HoldResponse)

    def item_status_update(self, item_id: str, properties: str) -> ItemStatusUpdateResponse:
        request = self._build(ItemStatusUpdateRequest, item_id=item_id, item_properties=properties)
        return self.call(request, ItemStatusUpdateResponse)

    def block_patron(
        self, patron_id: str, message: str, *, card_retained: bool = False
    ) -> PatronStatusResponse:
        request = self._build(
            BlockPatronRequest,
            card_retained=card_retained,
            patron_id=patron_id,
            blocked_card_message=message,
        )
        return self.call(request, PatronStatusResponse)
