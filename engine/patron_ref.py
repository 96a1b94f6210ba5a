"""``patron_ref``: the patron as logs, events and MQTT name them — keyed with the site's secret.

A plain hash of a patron id is no pseudonym: library card numbers are short and
sequential, so a table of every id's hash reverses one in a fraction of a
second. The reference is therefore an HMAC-SHA256 of the id under a secret key
that only the site's devices hold (``[device] site_key_file`` or
``site_key_env``): without the key it cannot be computed, let alone reversed,
and another site's key gives unrelated references to the same patron.

Every device of a site must share the key so that central monitoring sees one
patron as one reference across them; a kiosk on MQTT therefore has to be given
it (a config error otherwise). A kiosk that reports to no broker may go
without: it then makes a key of its own once, in ``data_dir`` (mode 0600),
and keeps it, since its journal keys PIN lockouts and the offline cache by
reference.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path

from engine.config.model import MIN_SITE_KEY, DeviceConfig, SecretError
from engine.private_files import make_key_once

__all__ = ["DEVICE_KEY_FILE", "REF_HEX_DIGITS", "PatronRefs", "patron_ref"]

REF_HEX_DIGITS = 16
"""64 bits: no two patrons of any library share a reference by chance."""
DEVICE_KEY_FILE = "patron-ref.key"
"""In ``data_dir``: the key a kiosk without a site key made for itself."""


def patron_ref(patron_id: str, key: bytes) -> str:
    """``p-`` and the first hex digits of HMAC-SHA256(key, patron id)."""
    if len(key) < MIN_SITE_KEY:
        raise ValueError(f"a patron_ref key needs at least {MIN_SITE_KEY} bytes")
    digest = hmac.new(key, patron_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return "p-" + digest[:REF_HEX_DIGITS]


@dataclass(frozen=True, slots=True)
class PatronRefs:
    """The reference maker of one device: ``refs(patron_id)``."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < MIN_SITE_KEY:
            raise ValueError(f"a patron_ref key needs at least {MIN_SITE_KEY} bytes")

    def __call__(self, patron_id: str) -> str:
        return patron_ref(patron_id, self.key)

    @classmethod
    def for_device(cls, config: DeviceConfig) -> PatronRefs:
        """The site's key from the config; else this device's own (made once in data_dir).

        SecretError when a configured key cannot be read, or the device's own key
        file is damaged (a new key would change every reference and so forget
        every PIN lockout: staff have to decide).
        """
        key = config.device.site_key()
        if key is None:
            key = device_key(config.device.data_dir)
        return cls(key)


def device_key(data_dir: Path) -> bytes:
    """The key in ``data_dir``/patron-ref.key, made (0600, atomically) if there is none."""
    path = data_dir / DEVICE_KEY_FILE
    make_key_once(path)
    try:
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise SecretError(f"cannot read the device's patron_ref key {path}: {error}") from None
    if len(value) < MIN_SITE_KEY:
        raise SecretError(
            f"the device's patron_ref key {path} is damaged; set device.site_key_file, or "
            "remove the file to make a new key (PIN lockouts in the journal are then forgotten)"
        )
    return value.encode("ascii")
