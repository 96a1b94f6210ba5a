"""PIN verifiers for the offline patron cache, keyed with a secret that is not in the journal.

A library PIN has four to six digits: 10,000 to a million candidates. Any hash of
it alone, however slow, falls in minutes to someone holding the hash and the
salt. So the verifier kept in the journal is ``HMAC-SHA256(key, PBKDF2(pin,
salt))``: without the key, the journal (a copied SD card's, or one read by the
touchscreen's user) says nothing about any PIN, and guessing needs the kiosk
itself, where the PIN lockout counts every attempt. The key comes from a
systemd credential or a secrets file only the engine's user can read (see
docs/privacy.md, which also says what is left when key and journal both leak:
then the PBKDF2 work is the only cost, and a 4-digit PIN is found in minutes).

Format: ``k1$<key id>$<salt hex>$<mac hex>``. The key id (8 hex digits derived from
the key) tells a verifier made under another key from a wrong PIN, so a rotated
key makes the patron log in online once instead of counting as a wrong PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from pathlib import Path

from engine.config.model import MAX_SECRET_BYTES, credential_path, read_regular_file
from engine.private_files import make_key_once

log = logging.getLogger(__name__)

PBKDF2_ROUNDS = 120_000
PREFIX = "k1"
MIN_KEY_BYTES = 16
KEY_NAME = "pin-key"
"""The credential's name under systemd's LoadCredential= (``$CREDENTIALS_DIRECTORY/pin-key``)."""


class PinKeyError(ValueError):
    """The configured key cannot be read or is too short."""


class PinVerifier:
    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise PinKeyError(f"the PIN key must have at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self.key_id = hmac.new(key, b"muontra pin key id", hashlib.sha256).hexdigest()[:8]

    def make(self, pin: str, salt: bytes | None = None) -> str:
        salt = salt or os.urandom(16)
        return f"{PREFIX}${self.key_id}${salt.hex()}${self._mac(pin, salt).hex()}"

    def _mac(self, pin: str, salt: bytes) -> bytes:
        stretched = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, PBKDF2_ROUNDS)
        return hmac.new(self._key, salt + stretched, hashlib.sha256).digest()

    def usable(self, stored: str | None) -> bool:
        """True when ``stored`` is a verifier this key can check."""
        parts = (stored or "").split("$")
        return len(parts) == 4 and parts[0] == PREFIX and parts[1] == self.key_id

    def matches(self, pin: str, stored: str | None) -> bool:
        if not self.usable(stored):
            return False
        assert stored is not None
        _, _, salt, expected = stored.split("$")
        try:
            salt_bytes, expected_bytes = bytes.fromhex(salt), bytes.fromhex(expected)
        except ValueError:
            return False
        return hmac.compare_digest(self._mac(pin, salt_bytes), expected_bytes)


def load_key(configured: Path | None, data_dir: Path) -> bytes:
    """The key: the configured file (a relative path is looked up in systemd's
    ``$CREDENTIALS_DIRECTORY``), else the ``pin-key`` credential, else a key generated
    once into ``data_dir/pin.key`` (mode 0600) with a warning: that one keeps the
    touchscreen's user out, but sits on the same SD card as the journal."""
    if configured is not None:
        return _read(credential_path(configured))
    credential = credential_path(Path(KEY_NAME))
    if credential != Path(KEY_NAME) and credential.is_file():  # under $CREDENTIALS_DIRECTORY
        return _read(credential)
    local = data_dir / "pin.key"
    make_key_once(local)
    log.warning(
        "offline PIN key kept beside the journal (%s): a copy of this disk can test PINs; "
        "set journal.pin_key_file or a pin-key credential (docs/privacy.md)",
        local,
    )
    return _read(local)


def _read(path: Path) -> bytes:
    try:
        value = read_regular_file(path, MAX_SECRET_BYTES).strip()
    except OSError as error:
        raise PinKeyError(f"cannot read the PIN key {path}: {error.strerror}") from None
    except ValueError as error:  # a device or a pipe would read without end
        raise PinKeyError(f"cannot read the PIN key {path}: {error}") from None
    if len(value) < MIN_KEY_BYTES:
        raise PinKeyError(f"the PIN key {path} is shorter than {MIN_KEY_BYTES} bytes")
    return value
