"""Code tables of SIP2 2.00 (fixed-field codes and the common extensions)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class PatronStatusFlag(IntEnum):
    """Positions in the 14-character patron status; 'Y' at a position means the flag is set."""

    CHARGE_PRIVILEGES_DENIED = 0
    RENEWAL_PRIVILEGES_DENIED = 1
    RECALL_PRIVILEGES_DENIED = 2
    HOLD_PRIVILEGES_DENIED = 3
    CARD_REPORTED_LOST = 4
    TOO_MANY_ITEMS_CHARGED = 5
    TOO_MANY_ITEMS_OVERDUE = 6
    TOO_MANY_RENEWALS = 7
    TOO_MANY_CLAIMS_OF_ITEMS_RETURNED = 8
    TOO_MANY_ITEMS_LOST = 9
    EXCESSIVE_OUTSTANDING_FINES = 10
    EXCESSIVE_OUTSTANDING_FEES = 11
    RECALL_OVERDUE = 12
    TOO_MANY_ITEMS_BILLED = 13


class CirculationStatus(StrEnum):
    OTHER = "01"
    ON_ORDER = "02"
    AVAILABLE = "03"
    CHARGED = "04"
    CHARGED_NOT_TO_BE_RECALLED = "05"
    IN_PROCESS = "06"
    RECALLED = "07"
    WAITING_ON_HOLD_SHELF = "08"
    WAITING_TO_BE_RESHELVED = "09"
    IN_TRANSIT = "10"
    CLAIMED_RETURNED = "11"
    LOST = "12"
    MISSING = "13"


class SecurityMarker(StrEnum):
    OTHER = "00"
    NONE = "01"
    TATTLE_TAPE = "02"
    WHISPER_TAPE = "03"


class FeeType(StrEnum):
    OTHER = "01"
    ADMINISTRATIVE = "02"
    DAMAGE = "03"
    OVERDUE = "04"
    PROCESSING = "05"
    RENTAL = "06"
    REPLACEMENT = "07"
    COMPUTER_ACCESS = "08"
    HOLD_FEE = "09"


class PaymentType(StrEnum):
    CASH = "00"
    VISA = "01"
    CREDIT_CARD = "02"


class MediaType(StrEnum):
    OTHER = "000"
    BOOK = "001"
    MAGAZINE = "002"
    BOUND_JOURNAL = "003"
    AUDIO_TAPE = "004"
    VIDEO_TAPE = "005"
    CD_CDROM = "006"
    DISKETTE = "007"
    BOOK_WITH_DISKETTE = "008"
    BOOK_WITH_CD = "009"
    BOOK_WITH_AUDIO_TAPE = "010"


class AlertType(StrEnum):
    """CV in a checkin response (an extension most ILSs send): why the alert flag is set."""

    UNKNOWN = "00"
    HOLD_LOCAL = "01"
    HOLD_REMOTE = "02"
    ILL = "03"
    TRANSIT = "04"
    OTHER = "99"


class HoldMode(StrEnum):
    ADD = "+"
    DELETE = "-"
    CHANGE = "*"
