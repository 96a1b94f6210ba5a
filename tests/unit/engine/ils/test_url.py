from pathlib import Path

import pytest

from engine.ils.url import parse_ils_url


def test_full_url() -> None:
    settings = parse_ils_url(
        "sip2://kiosk%201:p%40ss@ils.example.org:6443?institution=MAIN&location=TT"
        "&profile=koha&tls=1&ca_file=/etc/ca.pem&timeout=3&pool=2"
    )
    assert (settings.host, settings.port, settings.user) == ("ils.example.org", 6443, "kiosk 1")
    assert settings.password == "p@ss"
    assert settings.institution == "MAIN" and settings.location == "TT"
    assert settings.profile.name == "koha" and settings.tls and settings.verify
    assert settings.ca_file == "/etc/ca.pem" and settings.timeout == 3 and settings.pool == 2


def test_password_never_shown() -> None:
    settings = parse_ils_url("sip2://kiosk:hunter2@ils:6001")
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)
    assert "kiosk:***@" in settings.display()


def test_defaults() -> None:
    settings = parse_ils_url("sip2://ils.example.org")
    assert settings.port == 6001 and not settings.tls and settings.user is None
    assert settings.profile.name == "generic"


def test_secret_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ILS_PASSWORD", "from-env")
    assert parse_ils_url("sip2://k@ils?password_env=ILS_PASSWORD").password == "from-env"
    secret = tmp_path / "secret"
    secret.write_text("from-file\n", encoding="utf-8")
    assert parse_ils_url(f"sip2://k@ils?password_file={secret}").password == "from-file"


def test_profile_overrides_and_short_idle_timeout() -> None:
    settings = parse_ils_url(
        "sip2://ils?profile=sierra&terminator=crlf&error_detection=0&verify_checksum=0"
    )
    assert settings.profile.verify_checksum is False
    assert settings.profile.terminator == b"\r\n"
    assert settings.profile.error_detection is False
    assert settings.profile.encoding == "cp850"
    assert settings.keepalive == 30.0  # half of Sierra's idle timeout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://ils:6001", "must start with sip2://"),
        ("sip2://ils?tsl=1", "unknown parameter 'tsl'"),
        ("sip2://ils?profile=aleph", "unknown SIP2 profile 'aleph'"),
        ("sip2://ils?tls=maybe", "tls must be 1 or 0"),
        ("sip2://ils?timeout=-1", "timeout must be more than 0"),
        ("sip2://ils?encoding=klingon", "unknown encoding"),
        ("sip2://ils:99999", "port must be a number"),
        ("sip2://?institution=X", "no host"),
        ("sip2://k@ils?password_env=NOPE_NOT_SET", "NOPE_NOT_SET"),
        ("sip2://ils?terminator=nul", "terminator must be"),
    ],
)
def test_bad_urls_name_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ils_url(url)


def test_simulated_scheme() -> None:
    assert parse_ils_url("sip2+sim://").simulated
