"""Every SIP2 2.00 message as a typed class; each declaration is its wire layout.

Class attributes are listed in wire order: fixed fields first, then variable
fields in the order the spec gives (required ones marked). Extensions that
real ILSs send (CS call number, CT destination, CV alert type…) are declared
where they occur, so they read as typed attributes too.
"""

from __future__ import annotations

from protocols.sip2.layout import (
    Bit,
    Count,
    Date,
    Field,
    Flag,
    Number,
    Repeated,
    Status,
    Text,
    YesNo,
)
from protocols.sip2.message import Message


class Request(Message):
    """A message from the self-service device (SC) to the ILS (ACS)."""

    __slots__ = ()


class Response(Message):
    """A message from the ILS (ACS) to the self-service device (SC)."""

    __slots__ = ()


class LoginRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "93", "Login"
    uid_algorithm = Text(1, "0")
    pwd_algorithm = Text(1, "0")
    login_user_id = Field("CN", required=True)
    login_password = Field("CO", required=True)
    location_code = Field("CP")


class LoginResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "94", "Login Response"
    ok = Bit()


class SCStatusRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "99", "SC Status"
    status_code = Text(1, "0")
    max_print_width = Text(3, "000")
    protocol_version = Text(4, "2.00")


class ACSStatusResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "98", "ACS Status"
    online_status = Flag()
    checkin_ok = Flag()
    checkout_ok = Flag()
    acs_renewal_policy = Flag()
    status_update_ok = Flag()
    offline_ok = Flag()
    timeout_period = Text(3, "000")
    retries_allowed = Text(3, "000")
    date_time_sync = Date()
    protocol_version = Text(4, "2.00")
    institution_id = Field("AO", required=True)
    library_name = Field("AM")
    supported_messages = Field("BX", required=True)
    terminal_location = Field("AN")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class PatronStatusRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "23", "Patron Status Request"
    language = Text(3, "000")
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    terminal_password = Field("AC", required=True)
    patron_password = Field("AD", required=True)


class PatronStatusResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "24", "Patron Status Response"
    patron_status = Status()
    language = Text(3, "000")
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    personal_name = Field("AE", required=True)
    valid_patron = YesNo("BL")
    valid_patron_password = YesNo("CQ")
    currency = Field("BH")
    fee_amount = Field("BV")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class PatronInformationRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "63", "Patron Information"
    language = Text(3, "000")
    transaction_date = Date()
    summary = Text(10, " " * 10)
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    terminal_password = Field("AC")
    patron_password = Field("AD")
    start_item = Number("BP")
    end_item = Number("BQ")


class PatronInformationResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "64", "Patron Information Response"
    patron_status = Status()
    language = Text(3, "000")
    transaction_date = Date()
    hold_items_count = Count(4)
    overdue_items_count = Count(4)
    charged_items_count = Count(4)
    fine_items_count = Count(4)
    recall_items_count = Count(4)
    unavailable_holds_count = Count(4)
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    personal_name = Field("AE", required=True)
    hold_items_limit = Number("BZ")
    overdue_items_limit = Number("CA")
    charged_items_limit = Number("CB")
    valid_patron = YesNo("BL")
    valid_patron_password = YesNo("CQ")
    currency = Field("BH")
    fee_amount = Field("BV")
    fee_limit = Field("CC")
    hold_items = Repeated("AS")
    overdue_items = Repeated("AT")
    charged_items = Repeated("AU")
    fine_items = Repeated("AV")
    recall_items = Repeated("BU")
    unavailable_hold_items = Repeated("CD")
    home_address = Field("BD")
    email = Field("BE")
    home_phone = Field("BF")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class ItemInformationRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "17", "Item Information"
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    item_id = Field("AB", required=True)
    terminal_password = Field("AC")


class ItemInformationResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "18", "Item Information Response"
    circulation_status = Text(2, "01")
    security_marker = Text(2, "00")
    fee_type = Text(2, "01")
    transaction_date = Date()
    hold_queue_length = Number("CF")
    due_date = Field("AH")
    recall_date = Field("CJ")
    hold_pickup_date = Field("CM")
    item_id = Field("AB", required=True)
    title = Field("AJ", required=True)
    owner = Field("BG")
    currency = Field("BH")
    fee_amount = Field("BV")
    media_type = Field("CK")
    permanent_location = Field("AQ")
    current_location = Field("AP")
    item_properties = Field("CH")
    call_number = Field("CS")
    destination_location = Field("CT")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class CheckoutRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "11", "Checkout"
    sc_renewal_policy = Flag()
    no_block = Flag()
    transaction_date = Date()
    nb_due_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    item_id = Field("AB", required=True)
    terminal_password = Field("AC", required=True)
    item_properties = Field("CH")
    patron_password = Field("AD")
    fee_acknowledged = YesNo("BO")
    cancel = YesNo("BI")


class CheckoutResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "12", "Checkout Response"
    ok = Bit()
    renewal_ok = Flag()
    magnetic_media = Flag("U")
    desensitize = Flag("U")
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    item_id = Field("AB", required=True)
    title = Field("AJ", required=True)
    due_date = Field("AH", required=True)
    fee_type = Field("BT")
    security_inhibit = YesNo("CI")
    currency = Field("BH")
    fee_amount = Field("BV")
    media_type = Field("CK")
    item_properties = Field("CH")
    transaction_id = Field("BK")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class CheckinRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "09", "Checkin"
    no_block = Flag()
    transaction_date = Date()
    return_date = Date()
    current_location = Field("AP", required=True)
    institution_id = Field("AO", required=True)
    item_id = Field("AB", required=True)
    terminal_password = Field("AC", required=True)
    item_properties = Field("CH")
    cancel = YesNo("BI")


class CheckinResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "10", "Checkin Response"
    ok = Bit()
    resensitize = Flag()
    magnetic_media = Flag("U")
    alert = Flag()
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    item_id = Field("AB", required=True)
    permanent_location = Field("AQ", required=True)
    title = Field("AJ")
    sort_bin = Field("CL")
    patron_id = Field("AA")
    media_type = Field("CK")
    item_properties = Field("CH")
    destination_location = Field("CT")
    alert_type = Field("CV")
    hold_patron_id = Field("CY")
    hold_patron_name = Field("DA")
    call_number = Field("CS")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class RenewRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "29", "Renew"
    third_party_allowed = Flag()
    no_block = Flag()
    transaction_date = Date()
    nb_due_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    patron_password = Field("AD")
    item_id = Field("AB")
    title = Field("AJ")
    terminal_password = Field("AC")
    item_properties = Field("CH")
    fee_acknowledged = YesNo("BO")


class RenewResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "30", "Renew Response"
    ok = Bit()
    renewal_ok = Flag()
    magnetic_media = Flag("U")
    desensitize = Flag("U")
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    item_id = Field("AB", required=True)
    title = Field("AJ", required=True)
    due_date = Field("AH", required=True)
    fee_type = Field("BT")
    security_inhibit = YesNo("CI")
    currency = Field("BH")
    fee_amount = Field("BV")
    media_type = Field("CK")
    item_properties = Field("CH")
    transaction_id = Field("BK")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class RenewAllRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "65", "Renew All"
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    patron_password = Field("AD")
    terminal_password = Field("AC")
    fee_acknowledged = YesNo("BO")


class RenewAllResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "66", "Renew All Response"
    ok = Bit()
    renewed_count = Count(4)
    unrenewed_count = Count(4)
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    renewed_items = Repeated("BM")
    unrenewed_items = Repeated("BN")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class EndPatronSessionRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "35", "End Patron Session"
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    terminal_password = Field("AC")
    patron_password = Field("AD")


class EndSessionResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "36", "End Session Response"
    end_session = Flag()
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class FeePaidRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "37", "Fee Paid"
    transaction_date = Date()
    fee_type = Text(2, "01")
    payment_type = Text(2, "00")
    currency_type = Text(3, "USD")
    fee_amount = Field("BV", required=True)
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    terminal_password = Field("AC")
    patron_password = Field("AD")
    fee_identifier = Field("CG")
    transaction_id = Field("BK")


class FeePaidResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "38", "Fee Paid Response"
    payment_accepted = Flag()
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    transaction_id = Field("BK")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class HoldRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "15", "Hold"
    hold_mode = Text(1, "+")
    transaction_date = Date()
    expiration_date = Field("BW")
    pickup_location = Field("BS")
    hold_type = Field("BY")
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    patron_password = Field("AD")
    item_id = Field("AB")
    title = Field("AJ")
    terminal_password = Field("AC")
    fee_acknowledged = YesNo("BO")


class HoldResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "16", "Hold Response"
    ok = Bit()
    available = Flag()
    transaction_date = Date()
    expiration_date = Field("BW")
    queue_position = Number("BR")
    pickup_location = Field("BS")
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    item_id = Field("AB")
    title = Field("AJ")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class ItemStatusUpdateRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "19", "Item Status Update"
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    item_id = Field("AB", required=True)
    terminal_password = Field("AC")
    item_properties = Field("CH", required=True)


class ItemStatusUpdateResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "20", "Item Status Update Response"
    item_properties_ok = Bit()
    transaction_date = Date()
    item_id = Field("AB", required=True)
    title = Field("AJ")
    item_properties = Field("CH")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class PatronEnableRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "25", "Patron Enable"
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    terminal_password = Field("AC")
    patron_password = Field("AD")


class PatronEnableResponse(Response):
    __slots__ = ()
    COMMAND, NAME = "26", "Patron Enable Response"
    patron_status = Status()
    language = Text(3, "000")
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    patron_id = Field("AA", required=True)
    personal_name = Field("AE", required=True)
    valid_patron = YesNo("BL")
    valid_patron_password = YesNo("CQ")
    screen_message = Repeated("AF")
    print_line = Repeated("AG")


class BlockPatronRequest(Request):
    __slots__ = ()
    COMMAND, NAME = "01", "Block Patron"
    card_retained = Flag()
    transaction_date = Date()
    institution_id = Field("AO", required=True)
    blocked_card_message = Field("AL", required=True)
    patron_id = Field("AA", required=True)
    terminal_password = Field("AC", required=True)


class RequestSCResend(Response):
    """96: the ILS asks the device to send its last message again (bad checksum)."""

    __slots__ = ()
    COMMAND, NAME = "96", "Request SC Resend"


class RequestACSResend(Request):
    """97: the device asks the ILS to send its last message again (bad checksum)."""

    __slots__ = ()
    COMMAND, NAME = "97", "Request ACS Resend"


# The answer each request expects; Block Patron is answered by Patron Status.
RESPONSE_FOR: dict[str, str] = {
    "93": "94",
    "99": "98",
    "23": "24",
    "63": "64",
    "17": "18",
    "11": "12",
    "09": "10",
    "29": "30",
    "65": "66",
    "35": "36",
    "37": "38",
    "15": "16",
    "19": "20",
    "25": "26",
    "01": "24",
}
