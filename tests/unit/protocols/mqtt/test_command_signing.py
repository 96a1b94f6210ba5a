"""Signed commands (protocols/mqtt/signing.py): exact bytes and MAC, the check, hostile input."""

from __future__ import annotations

import dataclasses
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.mqtt import signing
from protocols.mqtt.payloads import (
    Command,
    Envelope,
    PayloadError,
    Result,
    decode_command,
    decode_result,
    encode,
    epoch_of,
)
from protocols.mqtt.signing import Refusal, canonical_bytes, check_signature, mac, sign

KEY = b"muontra-test-command-key-32bytes!"
OTHER_KEY = b"another-site-command-key-32bytes!"
ID = "0123456789abcdef0123456789abcdef"
ENV = Envelope(ID, "2026-11-25T08:30:00.250Z", "kiosk-01", "VN-HN0001")
COMMAND = Command(
    ENV, "message", {"text": "Thư viện đóng cửa lúc 17:00"}, "2026-11-25T08:35:00.250Z"
)
SENT = epoch_of("2026-11-25T08:30:00.250Z")

# Computed apart from this code, with `printf '<the bytes>' | openssl dgst -sha256 -hmac <KEY>`.
CANONICAL = (
    b"muontra-command-v1\n"
    b'{"args":{"text":"Th\\u01b0 vi\\u1ec7n \\u0111\\u00f3ng c\\u1eeda l\\u00fac 17:00"},'
    b'"command":"message","device":"kiosk-01","expires":"2026-11-25T08:35:00.250Z",'
    b'"id":"0123456789abcdef0123456789abcdef","site":"VN-HN0001","time":"2026-11-25T08:30:00.250Z"}'
)
MAC = "1ea63d7828aa2b49fd8ee24972cfa59d0d57fd7359c9afbc433fc5f9f61278f1"


def test_canonical_bytes_and_mac_to_the_byte() -> None:
    assert canonical_bytes(COMMAND) == CANONICAL
    assert mac(COMMAND, KEY) == MAC


def test_a_signed_command_on_the_wire() -> None:
    signed = sign(dataclasses.replace(COMMAND, expires=None), KEY, SENT + 300)
    assert signed.sig == MAC
    wire = encode(signed)
    assert (
        wire
        == (
            '{"args":{"text":"Thư viện đóng cửa lúc 17:00"},"command":"message",'
            '"device":"kiosk-01",'
            '"expires":"2026-11-25T08:35:00.250Z","id":"0123456789abcdef0123456789abcdef",'
            f'"sig":"{MAC}","site":"VN-HN0001","time":"2026-11-25T08:30:00.250Z","v":1}}'
        ).encode()
    )
    assert decode_command(wire, "message") == signed
    assert check_signature(decode_command(wire), KEY, SENT) is None


def test_an_unsigned_command_keeps_its_old_bytes() -> None:
    plain = Command(ENV, "lock")
    assert encode(plain) == (
        b'{"args":{},"command":"lock","device":"kiosk-01","id":"0123456789abcdef0123456789abcdef",'
        b'"site":"VN-HN0001","time":"2026-11-25T08:30:00.250Z","v":1}'
    )
    assert check_signature(plain, KEY, SENT) is Refusal.UNSIGNED


def test_the_check_names_each_refusal() -> None:
    signed = sign(COMMAND, KEY, SENT + 300)
    assert check_signature(signed, KEY, SENT + 300 + signing.CLOCK_SKEW) is None
    assert check_signature(signed, KEY, SENT + 300 + signing.CLOCK_SKEW + 0.01) is Refusal.EXPIRED
    assert check_signature(signed, OTHER_KEY, SENT) is Refusal.BAD_SIGNATURE
    assert check_signature(dataclasses.replace(signed, sig="0" * 64), KEY, SENT) is (
        Refusal.BAD_SIGNATURE
    )
    assert check_signature(dataclasses.replace(signed, sig="XYZ"), KEY, SENT) is (
        Refusal.BAD_SIGNATURE
    )
    assert check_signature(dataclasses.replace(signed, expires=None), KEY, SENT) is (
        Refusal.BAD_SIGNATURE
    )
    # An expiry further ahead than the device remembers ids is refused, signed or not.
    assert check_signature(signed, KEY, SENT, max_lifetime=299) is Refusal.EXPIRED
    assert check_signature(signed, KEY, SENT, max_lifetime=301) is None


@pytest.mark.parametrize(
    "change",
    [
        {"name": "unlock", "args": {}},
        {"args": {"text": "Thư viện đóng cửa lúc 18:00"}},
        {"envelope": Envelope("f" * 32, ENV.time, ENV.device, ENV.site)},
        {"envelope": Envelope(ID, "2026-11-25T08:31:00.250Z", ENV.device, ENV.site)},
        {"envelope": Envelope(ID, ENV.time, "kiosk-02", ENV.site)},
        {"envelope": Envelope(ID, ENV.time, ENV.device, "VN-HN0002")},
        {"expires": "2026-11-26T08:35:00.250Z"},
    ],
)
def test_every_signed_field_is_bound(change: dict[str, object]) -> None:
    signed = sign(COMMAND, KEY, SENT + 300)
    assert check_signature(dataclasses.replace(signed, **change), KEY, SENT) is (  # type: ignore[arg-type]
        Refusal.BAD_SIGNATURE
    )


def test_the_mac_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    signed = sign(COMMAND, KEY, SENT + 300)
    assert check_signature(signed, KEY, SENT) is None
    assert check_signature(dataclasses.replace(signed, sig="1" * 64), KEY, SENT) is (
        Refusal.BAD_SIGNATURE
    )
    assert compared == [(MAC.encode(), MAC.encode()), (MAC.encode(), b"1" * 64)]


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        mac(COMMAND, b"short")


def test_a_refused_result_carries_its_reason_code() -> None:
    result = Result(ENV, "f" * 32, "lock", False, "refused", "bad_signature")
    wire = encode(result)
    assert b'"reason":"bad_signature"' in wire
    assert decode_result(wire) == result
    assert b"reason" not in encode(Result(ENV, "f" * 32, "lock", True, "locked"))
    with pytest.raises(PayloadError):
        Result(ENV, "f" * 32, "lock", False, "x", "Not A Code")


_SIGNED_WIRE = encode(sign(COMMAND, KEY, SENT + 300))


@given(st.binary(max_size=600))
def test_hostile_bytes_never_pass_the_check(data: bytes) -> None:
    try:
        command = decode_command(data)
    except PayloadError:
        return
    assert check_signature(command, KEY, SENT) is not None


@given(st.integers(0, len(_SIGNED_WIRE) - 1), st.integers(0, 255))
def test_a_flipped_byte_never_passes(position: int, value: int) -> None:
    wire = bytearray(_SIGNED_WIRE)
    if wire[position] == value:
        return
    wire[position] = value
    try:
        command = decode_command(bytes(wire))
    except PayloadError:
        return
    verdict = check_signature(command, KEY, SENT)
    # Only a change the MAC does not cover may pass: none changes what would run.
    if verdict is None:
        assert command == decode_command(_SIGNED_WIRE)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(st.text(max_size=10), _json, max_size=4),
    st.one_of(st.none(), st.text(max_size=80), st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
    st.one_of(st.none(), st.sampled_from(["2026-11-25T08:35:00.250Z", "1970-01-01T00:00:00Z"])),
)
def test_hostile_fields_raise_nothing_but_a_refusal(
    args: dict[str, object], sig: str | None, expires: str | None
) -> None:
    try:
        command = Command(ENV, "message", args, expires, sig)
    except PayloadError:
        return
    assert check_signature(command, KEY, SENT) in set(Refusal)
    # The signed form of the same fields does pass, and round-trips through its bytes.
    signed = sign(command, KEY, SENT + 60)
    try:
        wire = encode(signed)
    except PayloadError:
        return
    assert check_signature(decode_command(wire), KEY, SENT) is None
