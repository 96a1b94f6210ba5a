from protocols.sip2 import LoginRequest, LoginResponse, decode, encode
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
