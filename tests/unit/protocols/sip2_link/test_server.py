from protocols.sip2 import LoginRequest, LoginResponse, checksum, decode, encode
from protocols.sip2.server import BadRequest, Reply, RequestReceived, ServerConnection

LOGIN = LoginRequest.create(login_user_id="kiosk", login_password="secret")


def test_response_carries_the_request_sequence() -> None:
    server = ServerConnection()
    events = server.receive_data(encode(LOGIN, sequence=7))
    assert events == [RequestReceived(LOGIN)]
    wire = server.respond(LoginResponse.create(ok=True))
    assert decode(wire).sequence == 7 and decode(wire).checksum_ok


def test_client_without_error_detection_gets_none_back() -> None:
    server = ServerConnection()
    server.receive_data(encode(LOGIN, error_detection=False))
    assert server.respond(LoginResponse.create(ok=True)) == b"941\r"


def test_bad_checksum_gets_96_and_97_gets_the_last_response_again() -> None:
    server = ServerConnection()
    corrupt = encode(LOGIN, sequence=1)[:-5] + b"FFFF\r"
    events = server.receive_data(corrupt)
    assert isinstance(events[0], BadRequest)
    assert events[1] == Reply(b"96AZFEF6\r")
    server.receive_data(encode(LOGIN, sequence=1))
    first = server.respond(LoginResponse.create(ok=True))
    assert server.receive_data(b"97AZFEF5\r") == [Reply(first)]


def test_garbage_line_is_a_bad_request() -> None:
    events = ServerConnection().receive_data(b"\xff\xfe garbage\r")
    assert isinstance(events[0], BadRequest)


# --- requests split or stuffed by a field injection -------------------------------------
# The bytes a kiosk of today sent for NFC card text carrying a CR (and a whole
# forged checkin after it): what the ILS must never act on in pieces.


def _forge(body: str, sequence: int = 1) -> bytes:
    """A message with a valid checksum, built by hand (encode refuses what it carries)."""
    data = f"{body}AY{sequence}AZ".encode()
    return data + checksum(data).encode()


FORGED_CHECKIN = _forge("09N20261202    10150020261202    101500APTT|AOMUONTRA|ABB0010|AC|", 5)
SPLIT_REQUEST = (
    b"63001" + b"20261202    101500" + b" " * 10 + b"AOMUONTRA|AAP0001\r" + FORGED_CHECKIN
)
SPLIT_REQUEST = _forge(SPLIT_REQUEST.decode() + "\rX|AD0000|", 2) + b"\r"


def test_a_request_split_by_a_cr_in_a_field_is_never_acted_on_in_pieces() -> None:
    server = ServerConnection()
    assert server.receive_data(encode(LOGIN, sequence=0)) == [RequestReceived(LOGIN)]
    server.respond(LoginResponse.create(ok=True))
    events = server.receive_data(SPLIT_REQUEST)
    assert not [e for e in events if isinstance(e, RequestReceived)], events
    assert [e.data for e in events if isinstance(e, Reply)] == [b"96AZFEF6\r"]
    reasons = [e.reason for e in events if isinstance(e, BadRequest)]
    assert (
        reasons
        == ["no checksum from a client that uses them"]
        + ["follows a refused message in the same write"] * 2
    )


def test_the_split_is_caught_on_a_fresh_connection_too() -> None:
    # No earlier message told the server that this client uses checksums: the
    # checksummed forged checkin in the same write does.
    events = ServerConnection().receive_data(SPLIT_REQUEST)
    assert not [e for e in events if isinstance(e, RequestReceived)], events


def test_a_control_character_in_a_field_is_refused_in_the_requests_own_terms() -> None:
    server = ServerConnection()
    raw = _forge("63001" + "20261202    101500" + " " * 10 + "AOMUONTRA|AAP0001\x1b|AD1234|", 3)
    events = server.receive_data(raw + b"\r")
    assert isinstance(events[0], BadRequest) and events[0].reason == "control character in field AA"
    assert len(events) == 2 and isinstance(events[1], Reply)
    answer = decode(events[1].data)
    assert answer.command == "64" and answer.sequence == 3 and answer.checksum_ok
    assert answer.get("BL") is None and answer.get("CQ") is None  # not a valid patron
    assert answer.get("AA") == "" and "P0001" not in events[1].data.decode()
    assert answer.screen_messages == ("Request refused: a field carries a control character",)


def test_a_control_character_in_a_fixed_field_is_refused() -> None:
    raw = _forge("11NN2026120\x00    10150020261202    101500AOX|AAP0001|ABB0001|AC|")
    events = ServerConnection().receive_data(raw + b"\r")
    assert events[0] == BadRequest("control character in fixed field transaction_date", raw)
    answer = decode(events[1].data)  # type: ignore[union-attr]
    assert answer.command == "12" and answer.fixed["ok"] == "0"


def test_honest_pipelined_requests_are_still_served() -> None:
    server = ServerConnection()
    events = server.receive_data(encode(LOGIN, sequence=0) + encode(LOGIN, sequence=1))
    assert events == [RequestReceived(LOGIN), RequestReceived(LOGIN)]


def test_without_checksums_a_write_holding_several_messages_is_refused_whole() -> None:
    server = ServerConnection()
    assert server.receive_data(encode(LOGIN, error_detection=False)) == [RequestReceived(LOGIN)]
    server.respond(LoginResponse.create(ok=True))
    checkin = "09N20261202    10150020261202    101500APTT|AOMUONTRA|ABB0010|AC|"
    split = (
        b"63001"
        + b"20261202    101500"
        + b" " * 10
        + b"AOMUONTRA|AAP0001\r"
        + checkin.encode()
        + b"\rX|AD0000|\r"
    )
    events = server.receive_data(split)
    assert not [e for e in events if isinstance(e, RequestReceived)], events
    assert [e.data for e in events if isinstance(e, Reply)] == [b"96\r"]
    # The client's next single request is served as before.
    assert server.receive_data(encode(LOGIN, error_detection=False)) == [RequestReceived(LOGIN)]
