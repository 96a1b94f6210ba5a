"""The simulator's catalogue as typed SQLAlchemy 2 ORM models.

The simulator stands in for a library system (ILS), so these tables hold what
an ILS holds: institutions and branches, patrons, items, loans, holds, fees,
payments and a log of every request. Codes that travel over SIP2 (circulation
status, media type, fee type, security marker) are stored as their SIP2 code
values, so the database reads the same as the wire and nothing is translated
twice. Times are stored as naive UTC (SQLite has no time zone type) and come
back as aware UTC datetimes through :class:`UTCDateTime`.

The schema is created by the alembic migrations in ``migrations/``; a test
checks that the migrations and these models agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from protocols.sip2.codes import (
    CirculationStatus,
    FeeType,
    MediaType,
    PaymentType,
    SecurityMarker,
)

__all__ = [
    "Base",
    "BlockSource",
    "Branch",
    "Fee",
    "Hold",
    "HoldStatus",
    "Institution",
    "Item",
    "Loan",
    "Patron",
    "PatronType",
    "Payment",
    "SortBinRule",
    "SortPurpose",
    "TransactionKind",
    "TransactionLog",
    "UTCDateTime",
]

# Constraint names are fixed so that migrations can refer to them and so that
# SQLite (which needs batch mode to alter tables) and PostgreSQL agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime stored as naive UTC.

    SQLite keeps no time zone, and a naive datetime is ambiguous in a library
    seven hours east of UTC; refusing naive values on the way in catches a
    wall-clock time passed by mistake.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ILS simulator store; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC)


class PatronType(enum.StrEnum):
    """Patron categories; loan periods, limits and renewals depend on them."""

    ADULT = "adult"
    STUDENT = "student"
    CHILD = "child"
    STAFF = "staff"


class BlockSource(enum.StrEnum):
    """Who blocked a patron: a SIP2 patron enable may lift only a block a kiosk set."""

    STAFF = "staff"
    KIOSK = "kiosk"


class HoldStatus(enum.StrEnum):
    """Life of a hold. WAITING, IN_TRANSIT and READY are the active states."""

    WAITING = "waiting"
    IN_TRANSIT = "in_transit"
    READY = "ready"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


ACTIVE_HOLD_STATES = (HoldStatus.WAITING, HoldStatus.IN_TRANSIT, HoldStatus.READY)


class SortPurpose(enum.StrEnum):
    """Why a returned item goes to a bin: back to the shelf, to the hold shelf, or away."""

    RESHELVE = "reshelve"
    HOLD = "hold"
    TRANSIT = "transit"


class TransactionKind(enum.StrEnum):
    """The kind of request written to the transaction log, one per SIP2 request."""

    LOGIN = "login"
    SC_STATUS = "sc_status"
    PATRON_STATUS = "patron_status"
    PATRON_INFORMATION = "patron_information"
    ITEM_INFORMATION = "item_information"
    CHECKOUT = "checkout"
    CHECKIN = "checkin"
    RENEW = "renew"
    RENEW_ALL = "renew_all"
    END_SESSION = "end_session"
    FEE_PAID = "fee_paid"
    HOLD = "hold"
    ITEM_STATUS_UPDATE = "item_status_update"
    PATRON_ENABLE = "patron_enable"
    BLOCK_PATRON = "block_patron"


def _code_enum(enum_cls: type[enum.Enum], length: int, name: str) -> Enum:
    """A column type storing an enum by value (the SIP2 code), as a plain VARCHAR."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


CIRCULATION_STATUS = _code_enum(CirculationStatus, 2, "circulation_status")
MEDIA_TYPE = _code_enum(MediaType, 3, "media_type")
FEE_TYPE = _code_enum(FeeType, 2, "fee_type")
SECURITY_MARKER = _code_enum(SecurityMarker, 2, "security_marker")
PAYMENT_TYPE = _code_enum(PaymentType, 2, "payment_type")
PATRON_TYPE = _code_enum(PatronType, 16, "patron_type")
BLOCK_SOURCE = _code_enum(BlockSource, 16, "block_source")
HOLD_STATUS = _code_enum(HoldStatus, 16, "hold_status")
SORT_PURPOSE = _code_enum(SortPurpose, 16, "sort_purpose")
TRANSACTION_KIND = _code_enum(TransactionKind, 32, "transaction_kind")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Institution(Base):
    """An owning institution (SIP2 AO / BG); branches belong to one."""

    __tablename__ = "institutions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class Branch(Base):
    """A library building: home of items and patrons, pickup place for holds, transit end."""

    __tablename__ = "branches"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    institution_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"))


class SortBinRule(Base):
    """One line of a return machine's sort-bin mapping (Koha's SIP2SortBinMapping idea).

    The most specific matching rule wins: a media type or call-number prefix
    match beats a rule with neither.
    """

    __tablename__ = "sort_bin_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_code: Mapped[str] = mapped_column(ForeignKey("branches.code"), index=True)
    purpose: Mapped[SortPurpose] = mapped_column(SORT_PURPOSE)
    media_type: Mapped[MediaType | None] = mapped_column(MEDIA_TYPE, nullable=True)
    call_number_prefix: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bin: Mapped[str] = mapped_column(String(16))


class Patron(Base):
    """A library member. The PIN is kept in clear because this is a simulator."""

    __tablename__ = "patrons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    pin: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text, nullable=True)
    patron_type: Mapped[PatronType] = mapped_column(PATRON_TYPE)
    loan_limit: Mapped[int] = mapped_column(Integer)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    block_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    block_source: Mapped[BlockSource | None] = mapped_column(BLOCK_SOURCE, nullable=True)
    card_lost: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    home_branch_code: Mapped[str] = mapped_column(ForeignKey("branches.code"))

    loans: Mapped[list[Loan]] = relationship(back_populates="patron")


class Item(Base):
    """One physical copy. ``bib_id`` groups the copies of a title for title-level holds."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    bib_id: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text, default="")
    media_type: Mapped[MediaType] = mapped_column(MEDIA_TYPE)
    call_number: Mapped[str] = mapped_column(String(64), default="")
    home_branch_code: Mapped[str] = mapped_column(ForeignKey("branches.code"))
    current_branch_code: Mapped[str] = mapped_column(ForeignKey("branches.code"))
    destination_branch_code: Mapped[str | None] = mapped_column(
        ForeignKey("branches.code"), nullable=True
    )
    sort_bin: Mapped[str | None] = mapped_column(String(16), nullable=True)
    owner_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"))
    set_parts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[CirculationStatus] = mapped_column(CIRCULATION_STATUS)
    security_marker: Mapped[SecurityMarker] = mapped_column(SECURITY_MARKER)
    loan_fee: Mapped[int] = mapped_column(Integer, default=0)
    properties: Mapped[str] = mapped_column(Text, default="")


class Loan(Base):
    """A checkout. At most one open loan per item, enforced by a partial unique index."""

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"))
    checked_out_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    terminal: Mapped[str] = mapped_column(String(64), default="")
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    return_offline: Mapped[bool] = mapped_column(Boolean, default=False)

    patron: Mapped[Patron] = relationship(back_populates="loans")
    item: Mapped[Item] = relationship()

    __table_args__ = (
        # The guard against two concurrent checkouts of one item: whichever
        # transaction commits second fails on this index.
        Index(
            "uq_loans_open_item",
            "item_id",
            unique=True,
            sqlite_where=text("returned_at IS NULL"),
            postgresql_where=text("returned_at IS NULL"),
        ),
        Index("ix_loans_patron_open", "patron_id", "returned_at"),
    )


class Hold(Base):
    """A hold (reservation) on one copy (item level) or on any copy of a title.

    ``item_id`` is set for item-level holds from the start and for title-level
    holds once a copy has been trapped for them at checkin.
    """

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"), index=True)
    bib_id: Mapped[str] = mapped_column(String(32), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), nullable=True, index=True)
    item_level: Mapped[bool] = mapped_column(Boolean, default=False)
    pickup_branch_code: Mapped[str] = mapped_column(ForeignKey("branches.code"))
    status: Mapped[HoldStatus] = mapped_column(HOLD_STATUS)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ready_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    patron: Mapped[Patron] = relationship()
    item: Mapped[Item | None] = relationship()


class Fee(Base):
    """A charge on a patron's account in VND (no minor unit, so whole numbers)."""

    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), nullable=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), nullable=True)
    fee_type: Mapped[FeeType] = mapped_column(FEE_TYPE)
    amount: Mapped[int] = mapped_column(Integer)
    paid: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    patron: Mapped[Patron] = relationship()
    item: Mapped[Item | None] = relationship()

    @property
    def outstanding(self) -> int:
        """What is still owed on this fee."""
        return max(self.amount - self.paid, 0)


class Payment(Base):
    """A fee payment; ``transaction_id`` (SIP2 BK) makes a retried payment count once."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    payment_type: Mapped[PaymentType] = mapped_column(PAYMENT_TYPE)
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    terminal: Mapped[str] = mapped_column(String(64), default="")


class TransactionLog(Base):
    """One row per request served. Never holds a PIN."""

    __tablename__ = "transaction_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[TransactionKind] = mapped_column(TRANSACTION_KIND)
    terminal: Mapped[str] = mapped_column(String(64), default="")
    ok: Mapped[bool] = mapped_column(Boolean)
    code: Mapped[str] = mapped_column(String(40), default="")
    patron_barcode: Mapped[str | None] = mapped_column(String(64), nullable=True)
    item_barcode: Mapped[str | None] = mapped_column(String(64), nullable=True)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
