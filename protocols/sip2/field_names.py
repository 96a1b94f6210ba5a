"""Names of SIP2 variable-field ids, for people and for JSON output.

Standard 2.00 ids first, then extensions that real ILSs send (3M, Evergreen,
Koha). An id missing here is still decoded and kept; it is only shown by id.
"""

from __future__ import annotations

FIELD_NAMES: dict[str, str] = {
    "AA": "patron_id",
    "AB": "item_id",
    "AC": "terminal_password",
    "AD": "patron_password",
    "AE": "personal_name",
    "AF": "screen_message",
    "AG": "print_line",
    "AH": "due_date",
    "AJ": "title",
    "AL": "blocked_card_message",
    "AM": "library_name",
    "AN": "terminal_location",
    "AO": "institution_id",
    "AP": "current_location",
    "AQ": "permanent_location",
    "AS": "hold_items",
    "AT": "overdue_items",
    "AU": "charged_items",
    "AV": "fine_items",
    "AY": "sequence_number",
    "AZ": "checksum",
    "BD": "home_address",
    "BE": "email",
    "BF": "home_phone",
    "BG": "owner",
    "BH": "currency",
    "BI": "cancel",
    "BK": "transaction_id",
    "BL": "valid_patron",
    "BM": "renewed_items",
    "BN": "unrenewed_items",
    "BO": "fee_acknowledged",
    "BP": "start_item",
    "BQ": "end_item",
    "BR": "queue_position",
    "BS": "pickup_location",
    "BT": "fee_type",
    "BU": "recall_items",
    "BV": "fee_amount",
    "BW": "expiration_date",
    "BX": "supported_messages",
    "BY": "hold_type",
    "BZ": "hold_items_limit",
    "CA": "overdue_items_limit",
    "CB": "charged_items_limit",
    "CC": "fee_limit",
    "CD": "unavailable_hold_items",
    "CF": "hold_queue_length",
    "CG": "fee_identifier",
    "CH": "item_properties",
    "CI": "security_inhibit",
    "CJ": "recall_date",
    "CK": "media_type",
    "CL": "sort_bin",
    "CM": "hold_pickup_date",
    "CN": "login_user_id",
    "CO": "login_password",
    "CP": "location_code",
    "CQ": "valid_patron_password",
    # Extensions seen in real systems.
    "CR": "collection_code",
    "CS": "call_number",
    "CT": "destination_location",
    "CV": "alert_type",
    "CY": "hold_patron_id",
    "DA": "hold_patron_name",
    "PA": "patron_expiry_date",
    "PB": "patron_birth_date",
    "PC": "patron_profile",
    "PI": "patron_internet_privileges",
    "ZZ": "extension",
}

# Fields that identify a patron or carry a secret: masked in logs and in
# `muontra sip2 decode` unless the operator asks to see them.
SENSITIVE_FIELDS = frozenset({"AA", "AD", "AC", "AE", "BD", "BE", "BF", "CN", "CO", "CY", "DA"})


def field_name(field_id: str) -> str:
    """The snake_case name of ``field_id``, or the id itself when unknown."""
    return FIELD_NAMES.get(field_id, field_id)
