from protocols.sip2 import (
    CheckoutRequest,
    CheckoutResponse,
    LoginRequest,
    LoginResponse,
    PatronStatusRequest,
    decode,
    encode,
)
from protocols.sip2.client import (
    ClientConnection,
    ProtocolWarning,
    RequestFailed,
    ResponseReceived,
    SendData,
)
from protocols.sip2.profiles import PROFILES

LOGIN = LoginRequest.create(login_user_id="kiosk", login_password="secret")


def answer(response: object, sequence: int) -> bytes:
    assert isinstance(response, LoginResponse | CheckoutResponse)
    return encode(response, sequence=sequence)


def test_request_gets_its_response_and_sequence_numbers_wrap() -> None:
    client = ClientConnection()
    for round_ in range(12):
        data = client.send(LOGIN)
        sent = decode(data)
        assert sent.sequence == round_ % 10
        assert data.endswith(b"\r")
        events = client.receive_data(encode(LoginResponse.create(ok=True), sequence=round_ % 10))
        assert events == [ResponseReceived(LOGIN, LoginResponse.create(ok=True))]
    assert not client.busy


def test_only_one_request_in_flight() -> None:
    client = ClientConnection()
    client.send(LOGIN)
    try:
        client.send(LOGIN)
    except ValueError as exc:
        assert "still waiting" in str(exc)
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("a second request was accepted")


def test_bad_checksum_is_answered_with_97_then_gives_up() -> None:
    client = ClientConnection(max_resends=2)
    client.send(LOGIN)
    good = encode(LoginResponse.create(ok=True), sequence=0)
    corrupt = good[:-5] + b"0000\r"
    for _ in range(2):
        events = client.receive_data(corrupt)
        assert isinstance(events[0], ProtocolWarning)
        assert events[1] == SendData(b"97AZFEF5\r")
    events = client.receive_data(corrupt)
    assert isinstance(events[-1], RequestFailed)
    assert not client.busy


def test_resend_after_97_completes_the_request() -> None:
    client = ClientConnection()
    client.send(LOGIN)
    client.receive_data(b"94XAY0AZ0000\r")  # undecodable-checksum garbage
    events = client.receive_data(encode(LoginResponse.create(ok=True), sequence=0))
    assert isinstance(events[0], ResponseReceived)


def test_96_from_the_ilS_resends_the_same_bytes() -> None:
    client = ClientConnection()
    data = client.send(LOGIN)
    assert client.receive_data(b"96AZFEF6\r") == [SendData(data)]


def test_response_of_the_wrong_kind_is_a_warning_not_a_crash() -> None:
    client = ClientConnection()
    client.send(LOGIN)
    events = client.receive_data(encode(CheckoutResponse.create(ok=True), sequence=0))
    assert len(events) == 1 and isinstance(events[0], ProtocolWarning)
    assert "expected 94" in events[0].reason
    assert client.busy


def test_late_answer_with_old_sequence_is_ignored() -> None:
    client = ClientConnection()
    client.send(LOGIN)
    assert client.timed_out() == [RequestFailed(LOGIN, "no response from the ILS in time")]
    client.send(LOGIN)  # sequence 1
    events = client.receive_data(encode(LoginResponse.create(ok=False), sequence=0))
    assert isinstance(events[0], ProtocolWarning) and "sequence 0" in events[0].reason
    events = client.receive_data(encode(LoginResponse.create(ok=True), sequence=1))
    assert isinstance(events[0], ResponseReceived)


def test_split_and_merged_segments() -> None:
    client = ClientConnection()
    client.send(LOGIN)
    wire = encode(LoginResponse.create(ok=True), sequence=0)
    assert client.receive_data(wire[:3]) == []
    events = client.receive_data(wire[3:])
    assert isinstance(events[0], ResponseReceived)


def test_unsolicited_message_is_reported() -> None:
    client = ClientConnection()
    events = client.receive_data(encode(LoginResponse.create(ok=True)))
    assert isinstance(events[0], ProtocolWarning) and "unsolicited" in events[0].reason


def test_connection_lost_fails_the_pending_request() -> None:
    client = ClientConnection()
    request = PatronStatusRequest.create(patron_id="P1")
    client.send(request)
    client.receive_data(b"24   ")
    assert client.connection_lost() == [RequestFailed(request, "the ILS closed the connection")]
    assert client.framer.pending == b""


def test_profile_sets_terminator_encoding_and_error_detection() -> None:
    profile = PROFILES["sierra"].with_overrides(terminator=b"\r\n", error_detection=False)
    client = ClientConnection(profile)
    request = CheckoutRequest.create(patron_id="P1", item_id="Bò", institution_id="LIB")
    data = client.send(request)
    assert data.endswith(b"|\r\n")
    assert b"AY" not in data
    assert "Bò".encode("cp850") in data
    # a server that answers without error detection is accepted
    reply = CheckoutResponse.create(ok=True, item_id="Bò")
    events = client.receive_data(encode(reply, "cp850", error_detection=False))
    assert events == [ResponseReceived(request, reply)]


def test_a_server_that_always_sends_wrong_checksums_can_be_accepted() -> None:
    # The standalone Evergreen SIPServer ends every answer in AZ0000.
    strict = ClientConnection()
    strict.send(LOGIN)
    assert isinstance(strict.receive_data(b"941AY0AZ0000\r")[0], ProtocolWarning)
    lenient = ClientConnection(PROFILES["evergreen"].with_overrides(verify_checksum=False))
    lenient.send(LOGIN)
    events = lenient.receive_data(b"941AY0AZ0000\r")
    assert events == [ResponseReceived(LOGIN, LoginResponse.create(ok=True))]
