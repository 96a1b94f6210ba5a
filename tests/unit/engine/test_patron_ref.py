"""patron_ref is keyed with the site's secret: not computable without it, different per site."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from engine.config import parse_config
from engine.config.model import SecretError
from engine.patron_ref import DEVICE_KEY_FILE, PatronRefs, device_key, patron_ref

KEY_A = b"a3f1" * 16  # 64 characters, as `openssl rand -hex 32` makes
KEY_B = b"9c0e" * 16


def unkeyed_table(prefix: str, digits: int) -> dict[str, str]:
    """The attack on an unkeyed reference: every card number's hash, made in a moment."""
    table = {}
    for n in range(10**digits):
        card = f"{prefix}{n:0{digits}d}"
        digest = hashlib.sha256(card.encode()).hexdigest()
        table[digest[:10]] = card
        table[digest[:16]] = card
    return table


def test_the_ref_cannot_be_computed_without_the_key() -> None:
    table = unkeyed_table("P", 4)
    ref = patron_ref("P0001", KEY_A)
    assert ref.startswith("p-") and len(ref) == 2 + 16
    assert ref.removeprefix("p-") not in table
    assert ref.removeprefix("p-")[:10] not in table
    assert ref != patron_ref("P0001", KEY_B)  # another site, another reference
    assert ref == patron_ref("P0001", KEY_A)  # stable at one site
    assert ref != patron_ref("P0002", KEY_A)
    with pytest.raises(ValueError, match="at least 32"):
        patron_ref("P0001", b"short")


SITE = """
[device]
id = "{device}"
site = "VN-HN0001"
data_dir = "{data}"
{key}

[ils]
url = "sip2+sim://"

[devices]
pad = "sim://pad"
"""


def config(tmp_path: Path, device: str, key: str = "") -> object:
    return parse_config(SITE.format(device=device, data=tmp_path / device, key=key))


def test_devices_of_a_site_share_the_ref_with_the_site_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "site-key"
    secret.write_text(KEY_A.decode() + "\n")
    one = PatronRefs.for_device(config(tmp_path, "kiosk-01", f'site_key_file = "{secret}"'))
    two = PatronRefs.for_device(config(tmp_path, "kiosk-02", f'site_key_file = "{secret}"'))
    assert one("P0001") == two("P0001") == patron_ref("P0001", KEY_A)
    monkeypatch.setenv("T_SITE_KEY", KEY_B.decode())
    other = PatronRefs.for_device(config(tmp_path, "kiosk-03", 'site_key_env = "T_SITE_KEY"'))
    assert other("P0001") != one("P0001")
    assert "a3f1" not in repr(one)  # the key never shows in a repr (or a log line made of one)


def test_a_short_or_missing_site_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_SITE_KEY", "1234")
    with pytest.raises(SecretError, match="at least 32 characters"):
        PatronRefs.for_device(config(tmp_path, "kiosk-01", 'site_key_env = "T_SITE_KEY"'))
    monkeypatch.delenv("T_SITE_KEY")
    with pytest.raises(SecretError, match="T_SITE_KEY is not set"):
        PatronRefs.for_device(config(tmp_path, "kiosk-01", 'site_key_env = "T_SITE_KEY"'))


def test_a_kiosk_on_mqtt_needs_the_site_key(tmp_path: Path) -> None:
    from engine.config import ConfigError

    text = SITE.format(device="kiosk-01", data=tmp_path, key="") + '\n[mqtt]\nhost = "m"\n'
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    [problem] = error.value.problems
    assert problem.key == "device.site_key_file" and "patron_ref" in problem.message


def test_without_a_site_key_a_device_makes_its_own_once(tmp_path: Path) -> None:
    first = PatronRefs.for_device(config(tmp_path, "kiosk-01"))
    path = tmp_path / "kiosk-01" / DEVICE_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = PatronRefs.for_device(config(tmp_path, "kiosk-01"))  # a restart: the same refs
    assert first("P0001") == again("P0001")
    other = PatronRefs.for_device(config(tmp_path, "kiosk-02"))
    assert other("P0001") != first("P0001")
    assert [p.name for p in path.parent.iterdir()] == [DEVICE_KEY_FILE]  # no temporary left


def test_a_damaged_device_key_is_not_silently_replaced(tmp_path: Path) -> None:
    device_key(tmp_path)
    (tmp_path / DEVICE_KEY_FILE).write_text("")  # truncated by hand, or by a broken disk
    with pytest.raises(SecretError, match="damaged"):
        device_key(tmp_path)
    os.chmod(tmp_path / DEVICE_KEY_FILE, 0o000)
    if os.geteuid() != 0:
        with pytest.raises(SecretError, match="cannot read"):
            device_key(tmp_path)
