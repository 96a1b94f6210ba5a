"""The configuration of one device (kiosk, return station or gate), as pydantic models.

One TOML file per device. Every model forbids unknown keys, so a misspelt key
is an error that names the key and its line instead of a setting silently left
at its default (a kiosk that never asks for a PIN because ``pin = "requierd"``
was ignored would be a security hole). Field descriptions are the reference
documentation: ``docs/configuration.md`` is written from them.

Secrets never have to be in the file: the ILS, SMTP and MQTT passwords come
from an environment variable (``password_env``) or a file (``password_file``,
e.g. a systemd credential); they are read when the daemon needs them, so the
file itself can be world-readable and checked into a site's own repository.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import stat
import tomllib
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
from urllib.parse import parse_qsl, urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from drivers.registry import BUILTIN, EXTRA_OF_SCHEME, DeviceUrlError, parse_url, schemes
from engine.config.lines import MAX_DEPTH, KeyPath, TooDeep, find_line, key_lines
from engine.config.sections import SectionUnknown, model_for
from engine.ils.url import IlsSettings, parse_ils_url
from engine.security.settings import DetectionSection
from engine.tamper.settings import TamperSection
from protocols.extras import MissingExtra, installed
from protocols.tags.security import PRESETS, SecurityPolicy

log = logging.getLogger(__name__)


class Role(StrEnum):
    """What a device is: the value of ``device.role`` in its TOML file.

    Each role has a home package (docs/architecture.md) and, where it needs one,
    a section of its own (``[gate]`` below; ``[sorter]``, whose model lives in
    sorter/settings.py and is found through :mod:`engine.config.sections`, since
    the engine never imports a role).
    """

    SELF_CHECKOUT = "self-checkout"
    RETURN = "return"
    BOTH = "both"
    GATE = "gate"
    SORTER = "sorter"
    """A return machine with sorting bins: a tunnel reader over a belt, diverters, bins."""


Language = Literal["vi", "en"]
IdentifyBy = Literal["barcode", "nfc", "qr", "typed"]
TagModel = Literal["iso28560-3", "danish", "iso28560-2", "3m-rfid501"]

ALL_LANGUAGES: list[Language] = ["vi", "en"]
ALL_IDENTIFY_BY: list[IdentifyBy] = ["barcode", "nfc", "qr", "typed"]
ALL_TAG_MODELS: list[TagModel] = ["iso28560-3", "danish", "iso28560-2", "3m-rfid501"]

# Which built-in schemes fit which slot: a barcode scanner given as the pad
# reader is caught here rather than at three in the morning. Schemes added by
# plugins are accepted in every slot (we cannot know what they are).
DEVICE_KINDS: dict[str, frozenset[str]] = {
    "tag reader": frozenset({"sim", "feig+serial", "3m+serial", "pcsc"}),
    "card reader": frozenset({"nfc", "card+sim"}),
    "barcode scanner": frozenset({"barcode+serial", "barcode+evdev", "barcode+sim"}),
    "printer": frozenset(
        {"escpos+usb", "escpos+serial", "escpos+net", "escpos+file", "escpos+dummy"}
    ),
    "outputs": frozenset({"gpio"}),
    "inputs": frozenset({"gpio+in"}),
    "conveyor": frozenset({"conveyor+sim", "gpio+conveyor", "modbus+tcp"}),
}

# sun_path of a Unix socket address is 108 bytes on Linux, one of them the final NUL.
SOCKET_PATH_MAX = 107

# gpio:// parameters that are settings, not names of lines.
_GPIO_SETTINGS = frozenset({"active_low", "mock", "pull_up", "bounce", "invert"})
_SECRET_PARAMS = re.compile(r"pass|secret|token|key", re.IGNORECASE)
MIN_SITE_KEY = 32
"""Characters of the site key at the least (32 hex digits are 128 bits)."""


# -- problems -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file, located like a compiler error."""

    key: str
    """Dotted key (``patron.pin_attempts``, ``gate.readers[1]``); empty for the whole file."""
    line: int | None
    """1-based line in the file, None when the key is not in the file (a missing section)."""
    message: str

    def __str__(self) -> str:
        where = f"{self.line}: " if self.line is not None else ""
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class ConfigError(ValueError):
    """A configuration that cannot be used; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[ConfigProblem], path: Path | None = None) -> None:
        self.problems = problems
        self.path = path
        prefix = f"{path}:" if path is not None else ""
        super().__init__("; ".join(f"{prefix}{problem}" for problem in problems))


class SecretError(ValueError):
    """A secret that is configured but cannot be read (variable unset, file missing)."""


class _KeyedProblems(ValueError):
    """Raised by model validators to point at the exact keys a cross-field rule concerns.

    pydantic places a model validator's error on the model itself; carrying the
    keys (relative to that model) lets the report name ``patron.idle_warning``
    rather than just ``patron``.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


def _raise_if(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise _KeyedProblems(problems)


# -- value checks shared by several sections ------------------------------------


def _byte(value: object) -> object:
    """Accept ``7``, ``"7"`` and ``"0x07"``: AFI values are usually written in hex."""
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            raise ValueError(f"must be a number from 0 to 255 (0x00-0xFF), got {value!r}") from None
    return value


Byte = Annotated[int, BeforeValidator(_byte), Field(ge=0, le=255)]


def _unique(values: list[Any]) -> list[Any]:
    doubles = sorted({str(value) for value in values if values.count(value) > 1})
    if doubles:
        raise ValueError(f"listed twice: {', '.join(map(str, doubles))}")
    return values


DEFAULT_ID_PATTERN = r"[!-{}~]{1,64}"
"""Identifiers by default: 1 to 64 printable ASCII characters, no space, no '|'."""


def _id_pattern(description: str) -> Any:
    return Field(
        DEFAULT_ID_PATTERN,
        min_length=1,
        max_length=500,
        description=(
            f"{description} must match in full (a Python regular expression), once the "
            "spaces around it are removed; the default allows 1-64 printable ASCII "
            "characters without spaces. Control characters and '|' are refused "
            "whatever the pattern says (they would forge SIP2 messages)."
        ),
    )


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return pattern


def check_device_url(url: str, kind: str) -> str:
    """``url`` if it parses and its scheme is installed and fits ``kind`` (a DEVICE_KINDS key)."""
    try:
        parsed = parse_url(url)
    except DeviceUrlError as exc:
        raise ValueError(str(exc)) from None
    known = schemes()
    if parsed.scheme not in known:
        raise ValueError(f"unknown device scheme {parsed.scheme!r}; known: {', '.join(known)}")
    fitting = DEVICE_KINDS[kind]
    if parsed.scheme in BUILTIN and parsed.scheme not in fitting:
        other = next((name for name, kinds in DEVICE_KINDS.items() if parsed.scheme in kinds), "")
        what = f" is a {other} scheme," if other else ""
        raise ValueError(
            f"{parsed.scheme}://{what} not a {kind}; use one of "
            + ", ".join(f"{scheme}://" for scheme in sorted(fitting))
        )
    if parsed.scheme in EXTRA_OF_SCHEME:
        # Said here, so that `config check` (and the units' ExecStartPre) names the extra
        # before the daemon starts, not the first receipt that finds the printer library gone.
        extra, noun = EXTRA_OF_SCHEME[parsed.scheme]
        if not installed(extra):
            raise ValueError(str(MissingExtra(extra, f"the {parsed.scheme}:// {noun}")))
    return url


# A configuration file is a few kilobytes, a secret a line: anything much larger is
# the wrong file (a log, a disk image, /dev/zero) and is refused before it is read.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_SECRET_BYTES = 64 * 1024

_FILE_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a pipe",
    stat.S_IFSOCK: "a socket",
}


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path``: OSError when it cannot be opened, ValueError when it is
    not a regular file (a device or pipe reads without end, or blocks) or is larger
    than ``limit`` bytes. At most ``limit + 1`` bytes are read, whatever it is."""
    # O_NONBLOCK: opening a pipe must not wait for a writer; files ignore it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise ValueError(f"is {kind}, not a file")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"is larger than {limit // 1024} KiB: not the right file?")
    return data


def credential_path(file: Path) -> Path:
    """``file``, or for a relative one under systemd's ``LoadCredential=``, the same name
    in ``$CREDENTIALS_DIRECTORY`` (a root-only secret the service user may read there)."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if not file.is_absolute() and credentials:
        return Path(credentials) / file
    return file


def _read_secret(env: str | None, file: Path | None) -> str | None:
    """The secret from the environment variable or the file, without its final newline.

    A relative ``file`` is looked up in systemd's ``$CREDENTIALS_DIRECTORY`` when
    the daemon runs with ``LoadCredential=``, so a unit can hand over a root-only
    secret without the service user being able to read /etc/muontra/secrets.
    """
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise SecretError(f"environment variable {env} is not set")
        if not value:
            raise SecretError(f"environment variable {env} is empty")
        return value
    if file is not None:
        file = credential_path(file)
        try:
            value = read_regular_file(file, MAX_SECRET_BYTES).decode("utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"cannot read {file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SecretError(f"{file} is not UTF-8 text") from None
        except ValueError as exc:
            raise SecretError(f"cannot read {file}: {exc}") from None
        if not value:
            raise SecretError(f"{file} is empty")
        return value
    return None


def _one_secret_source(env: str | None, file: Path | None) -> list[tuple[str, str]]:
    if env is not None and file is not None:
        return [("password_file", "set either password_env or password_file, not both")]
    return []


def _password_env() -> Any:
    return Field(
        None,
        min_length=1,
        description="Name of the environment variable holding the password.",
    )


def _password_file() -> Any:
    return Field(
        None,
        description=(
            "File holding the password (one line; the final newline is ignored). "
            "A relative path is looked up in $CREDENTIALS_DIRECTORY under systemd's "
            "LoadCredential=. Set this or password_env, not both."
        ),
    )


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- sections -------------------------------------------------------------------


class DeviceSection(_Section):
    """Who this device is and where it keeps its state."""

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description=(
            "Name of this device, unique in the fleet: lower-case letters, digits and "
            "'-', e.g. 'kiosk-01'. Used in MQTT topics, logs and receipts."
        ),
    )
    site: str = Field(
        min_length=1,
        pattern=r"^[^/+#\s]+$",
        description=(
            "The library or branch the device stands in, e.g. its ISIL 'VN-HN0001'. "
            "No spaces, '/', '+' or '#' (it becomes an MQTT topic level)."
        ),
    )
    role: Role = Field(
        Role.SELF_CHECKOUT,
        description=(
            "What the device does: 'self-checkout' (borrow, renew), 'return' (return "
            "station), 'both' (borrow and return at one kiosk), 'gate' (security gate) or "
            "'sorter' (return machine with sorting bins)."
        ),
    )
    languages: list[Language] = Field(
        default_factory=lambda: list(ALL_LANGUAGES),
        min_length=1,
        description="Languages offered on screen and on receipts; the first is the default.",
    )
    data_dir: Path = Field(
        Path("/var/lib/muontra"),
        description="Directory of the device database, journal and offline queue.",
    )
    api_socket: Path = Field(
        Path("/run/muontra/kiosk.sock"),
        description="Unix socket of the local API that the touchscreen and scripts use.",
    )
    timezone: str = Field(
        "Asia/Ho_Chi_Minh",
        description="IANA time zone of due dates and receipts, e.g. 'Asia/Ho_Chi_Minh'.",
    )
    site_key_env: str | None = Field(
        None,
        min_length=1,
        description=(
            "Name of the environment variable holding the site's secret key, which keys "
            "patron_ref (HMAC-SHA256) in events, logs and MQTT. The same key on every "
            "device of the site; at least 32 characters (e.g. `openssl rand -hex 32`)."
        ),
    )
    site_key_file: Path | None = Field(
        None,
        description=(
            "File holding the site's secret key (see site_key_env; one line). A relative "
            "path is looked up in $CREDENTIALS_DIRECTORY under systemd's LoadCredential=. "
            "Required for a kiosk with [mqtt]; without either, a kiosk that does not "
            "report to MQTT keys patron_ref with a key of its own, made once in data_dir."
        ),
    )

    _languages_unique = field_validator("languages")(_unique)

    @field_validator("api_socket")
    @classmethod
    def _fits_a_socket_address(cls, value: Path) -> Path:
        # bind() refuses a longer path, and that would stop the daemon at start.
        size = len(os.fsencode(value))
        if size > SOCKET_PATH_MAX:
            raise ValueError(
                f"a Unix socket path holds at most {SOCKET_PATH_MAX} bytes (sun_path is 108 "
                f"with its final NUL), this one has {size}; "
                "use a shorter one such as /run/muontra/kiosk.sock"
            )
        return value

    @model_validator(mode="after")
    def _one_site_key_source(self) -> Self:
        if self.site_key_env is not None and self.site_key_file is not None:
            _raise_if([("site_key_file", "set either site_key_env or site_key_file, not both")])
        return self

    def site_key(self) -> bytes | None:
        """The site's secret key from site_key_env or site_key_file (None: none set).

        SecretError when it is configured but cannot be read or is too short to
        resist guessing.
        """
        value = _read_secret(self.site_key_env, self.site_key_file)
        if value is None:
            return None
        if len(value.strip()) < MIN_SITE_KEY:
            raise SecretError(
                f"the site key must have at least {MIN_SITE_KEY} characters "
                "(make one with `openssl rand -hex 32`)"
            )
        return value.strip().encode("utf-8")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # Without any zone data (a stripped container) nothing can be checked here.
        if zoneinfo.available_timezones() and value not in zoneinfo.available_timezones():
            raise ValueError(f"unknown time zone {value!r}; e.g. 'Asia/Ho_Chi_Minh'")
        return value


class IlsSection(_Section):
    """The link to the library system (ILS) over SIP2."""

    url: str = Field(
        description=(
            "SIP2 URL of the ILS, e.g. 'sip2://kiosk01@ils.example.org:6001?institution=HN"
            "&profile=koha&tls=1', or 'sip2+sim://' for the built-in simulator. See docs/sip2.md "
            "for every parameter. Keep the password out of it: use password_env or password_file."
        ),
    )
    password_env: str | None = _password_env()
    password_file: Path | None = _password_file()
    timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds to wait for each ILS answer (or set timeout= in the URL, not both).",
    )

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        parse_ils_url(value)  # its ValueError names the part that is wrong
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = _one_secret_source(self.password_env, self.password_file)
        query = dict(parse_qsl(urlsplit(self.url).query))
        if "timeout" in query and "timeout" in self.model_fields_set:
            problems.append(("timeout", "also set in the URL (timeout=): set it once"))
        in_url = {"password_env", "password_file"} & set(query)
        if in_url and (self.password_env is not None or self.password_file is not None):
            problems.append(("url", "the password is set in the URL and in [ils]: set it once"))
        _raise_if(problems)
        return self

    def password(self) -> str | None:
        """The ILS password from password_env or password_file (None: from the URL, if any)."""
        return _read_secret(self.password_env, self.password_file)

    def settings(self) -> IlsSettings:
        """Link settings from the URL, with the password and timeout of this section."""
        settings = parse_ils_url(self.url)
        password = self.password()
        if password is not None:
            settings = replace(settings, password=password)
        if "timeout" not in dict(parse_qsl(urlsplit(self.url).query)):
            settings = replace(settings, timeout=self.timeout)
        return settings


class DevicesSection(_Section):
    """The hardware of a kiosk or return station, each device named by a URL."""

    pad: str | None = Field(
        None,
        description=(
            "RFID reader under the pad where items are laid (required for self-checkout, "
            "return and both), e.g. 'feig+serial:///dev/ttyUSB0?baud=38400', "
            "'3m+serial:///dev/ttyUSB1', 'pcsc://ACR1552', 'sim://pad'."
        ),
    )
    card: str | None = Field(
        None,
        description="NFC patron card reader, e.g. 'nfc://usb', 'card+sim://card'.",
    )
    barcode: str | None = Field(
        None,
        description=(
            "Barcode/QR scanner for patron cards and items, e.g. "
            "'barcode+serial:///dev/ttyACM0', 'barcode+evdev:///dev/input/by-id/…', "
            "'barcode+sim://scanner'."
        ),
    )
    printer: str | None = Field(
        None,
        description=(
            "Receipt printer, e.g. 'escpos+usb://04b8:0202?profile=TM-T20II', "
            "'escpos+net://192.168.1.50:9100', 'escpos+dummy://'."
        ),
    )
    outputs: str | None = Field(
        None,
        description=(
            "Lights, buzzer and relays on GPIO, each named, e.g. "
            "'gpio://?red=17&green=27&buzzer=22' ('mock=1' on a PC)."
        ),
    )
    inputs: str | None = Field(
        None,
        description="Light beams and switches on GPIO, e.g. 'gpio+in://?bin_full=13&pull_up=1'.",
    )

    tunnel: str | None = Field(
        None,
        description=(
            "Return machine: the RFID reader in the tunnel over the belt (or at the intake), "
            "e.g. 'feig+serial:///dev/ttyUSB0', 'sim://conveyor'."
        ),
    )
    conveyor: str | None = Field(
        None,
        description=(
            "Return machine: the belt, intake, diverters and sensors, e.g. "
            "'modbus+tcp://192.168.1.60:502' (a PLC), 'gpio+conveyor://?…' (relays), "
            "'conveyor+sim://conveyor'."
        ),
    )

    @field_validator("tunnel")
    @classmethod
    def _tunnel(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "tag reader")

    @field_validator("conveyor")
    @classmethod
    def _conveyor(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "conveyor")

    @field_validator("pad")
    @classmethod
    def _pad(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "tag reader")

    @field_validator("card")
    @classmethod
    def _card(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "card reader")

    @field_validator("barcode")
    @classmethod
    def _barcode(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "barcode scanner")

    @field_validator("printer")
    @classmethod
    def _printer(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "printer")

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "outputs")

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "inputs")

    def output_names(self) -> set[str] | None:
        """Names of the GPIO outputs (``red``, ``buzzer``…); None when not a gpio:// URL."""
        if self.outputs is None:
            return set()
        parsed = parse_url(self.outputs)
        if parsed.scheme != "gpio":
            return None
        return set(parsed.params) - _GPIO_SETTINGS


_OVERRIDES = ("use_afi", "use_eas", "afi_secured", "afi_unsecured", "alarm_on_foreign_afi")


class SecuritySection(_Section):
    """How an item's tag is marked secured (on the shelf) or released (on loan)."""

    policy: str = Field(
        "afi",
        description=(
            "Preset: 'afi' (AFI 0x07 secured, 0xC2 on loan), 'eas' (NXP EAS bit), "
            "'afi+eas' (both), '3m' (AFI 0xD7 / 0xDA of older 3M sites). "
            "The keys below override single values of the preset."
        ),
    )
    use_afi: bool | None = Field(None, description="Override: use the AFI byte.")
    use_eas: bool | None = Field(None, description="Override: use the EAS bit.")
    afi_secured: Byte | None = Field(
        None, description="Override: AFI of an item on the shelf (alarms), 0-255 or '0x07'."
    )
    afi_unsecured: Byte | None = Field(
        None, description="Override: AFI of an item on loan, 0-255 or '0xC2'."
    )
    alarm_on_foreign_afi: bool | None = Field(
        None,
        description="Override: gates alarm also on AFI values of neither kind (foreign tags).",
    )

    @field_validator("policy")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value not in PRESETS:
            raise ValueError(f"unknown policy {value!r}; known: {', '.join(PRESETS)}")
        return value

    @model_validator(mode="after")
    def _policy_valid(self) -> Self:
        try:
            self.to_policy()
        except ValueError as exc:
            raise _KeyedProblems([("", str(exc))]) from None
        return self

    def to_policy(self) -> SecurityPolicy:
        """The preset with the overrides applied."""
        overrides = {
            name: getattr(self, name) for name in _OVERRIDES if getattr(self, name) is not None
        }
        return replace(PRESETS[self.policy], **overrides)


class PatronSection(_Section):
    """How patrons identify themselves and how long a session waits for them."""

    pin: Literal["required", "optional", "never"] = Field(
        "required",
        description=(
            "PIN after the card: 'required', 'optional' (asked when the ILS wants one) or 'never'."
        ),
    )
    pin_attempts: int = Field(
        3, ge=1, le=10, description="Wrong PINs in a row before the session ends (1-10)."
    )
    name_display: Literal["full", "first", "initials", "none"] = Field(
        "first",
        description="How much of the patron's name the screen shows: full, first, initials, none.",
    )
    idle_timeout: float = Field(
        60.0, gt=0, description="Seconds without a touch or a tag before a session ends."
    )
    idle_warning: float = Field(
        15.0,
        ge=0,
        description="Seconds before idle_timeout that the 'still there?' warning shows.",
    )
    identify_by: list[IdentifyBy] = Field(
        default_factory=lambda: list(ALL_IDENTIFY_BY),
        min_length=1,
        description=(
            "Ways a patron may identify: 'barcode' and 'qr' (need devices.barcode), "
            "'nfc' (needs devices.card), 'typed' (on-screen keyboard)."
        ),
    )
    id_pattern: str = _id_pattern(
        "What a patron identifier (card text, barcode, QR code, typed id)"
    )

    _identify_unique = field_validator("identify_by")(_unique)
    _id_pattern_compiles = field_validator("id_pattern")(_compiles)

    @model_validator(mode="after")
    def _warning_before_timeout(self) -> Self:
        if self.idle_warning >= self.idle_timeout:
            _raise_if(
                [
                    (
                        "idle_warning",
                        f"must be less than idle_timeout ({self.idle_timeout:g} s), "
                        f"got {self.idle_warning:g}",
                    )
                ]
            )
        return self


class OfflineSection(_Section):
    """Checkouts while the ILS cannot be reached, queued and sent when it is back."""

    enabled: bool = Field(True, description="Lend while the ILS is down.")
    max_items_per_patron: int = Field(
        5, ge=1, description="Items one patron may borrow while offline."
    )
    max_items_total: int = Field(
        500, ge=1, description="Items the device may lend offline before it stops lending."
    )
    patron_types: list[str] = Field(
        default_factory=list,
        description="Patron types (as the ILS names them) allowed offline; empty: any type.",
    )
    require_known_patron: bool = Field(
        True,
        description="Lend offline only to patrons in the cached list of valid patrons.",
    )
    cache_max_age_hours: float = Field(
        24.0,
        gt=0,
        description="Hours the cached patron list stays usable; older, offline lending stops.",
    )

    @model_validator(mode="after")
    def _per_patron_within_total(self) -> Self:
        if self.max_items_per_patron > self.max_items_total:
            _raise_if([("max_items_per_patron", "is more than max_items_total")])
        return self


class JournalSection(_Section):
    """The device's journal of loans and returns, and what it keeps about patrons."""

    retention_days: int = Field(
        30,
        ge=1,
        le=3650,
        description=(
            "Days a finished transaction (who borrowed what) and a cached patron are kept; "
            "then only the anonymous hourly statistics remain. Open, offline (not yet sent) "
            "and conflicting transactions are kept until they are settled."
        ),
    )
    pin_key_file: Path | None = Field(
        None,
        description=(
            "File holding the key of the offline cache's PIN verifiers (at least 16 bytes, "
            "readable only by the engine's user). A relative path is looked up in "
            "$CREDENTIALS_DIRECTORY under systemd's LoadCredential=. Unset: the credential "
            "'pin-key' if the unit loads one, else a key generated into data_dir/pin.key "
            "(which a copy of the SD card also holds: see docs/privacy.md)."
        ),
    )


class TagsSection(_Section):
    """Which RFID tags this device accepts as the library's items."""

    owner_libraries: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9:/.-]{1,16}$")]] = Field(
        default_factory=list,
        description=(
            "ISILs of the libraries whose items this device handles, e.g. ['VN-HN0001']; "
            "empty: any owner."
        ),
    )
    accept_models: list[TagModel] = Field(
        default_factory=lambda: list(ALL_TAG_MODELS),
        min_length=1,
        description=("Tag data models read: 'iso28560-3', 'danish', 'iso28560-2', '3m-rfid501'."),
    )
    security_attempts: int = Field(
        3, ge=1, le=10, description="Tries to set or clear an item's security before giving up."
    )
    item_id_pattern: str = _id_pattern("What an item id read from a tag or sent to renew")
    security_retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Times a failed security step is retried when the tag is seen again; "
        "then the loan is undone (or the return left to staff).",
    )

    _models_unique = field_validator("accept_models")(_unique)
    _item_id_pattern_compiles = field_validator("item_id_pattern")(_compiles)


class SmtpSection(_Section):
    """The mail server that sends e-mail receipts."""

    host: str = Field(min_length=1, description="SMTP server, e.g. 'smtp.example.org'.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port: 587 (STARTTLS), 465 (TLS).")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS.")
    tls: bool = Field(False, description="TLS from the start (port 465); excludes starttls.")
    username: str | None = Field(None, description="Login name; none: no login.")
    password_env: str | None = _password_env()
    password_file: Path | None = _password_file()
    sender: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="From address of receipts, e.g. 'thuvien@example.org'.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = _one_secret_source(self.password_env, self.password_file)
        if self.tls and self.starttls:
            problems.append(("starttls", "set tls or starttls, not both"))
        _raise_if(problems)
        return self

    def password(self) -> str | None:
        """The SMTP password from password_env or password_file (None: none set)."""
        return _read_secret(self.password_env, self.password_file)


class ReceiptsSection(_Section):
    """Receipts of a session: paper, e-mail, a QR code on screen."""

    print: bool = Field(True, description="Offer a paper receipt (needs devices.printer).")
    email: bool = Field(False, description="Offer an e-mail receipt (needs [receipts.smtp]).")
    qr: bool = Field(True, description="Offer the receipt as a QR code on screen.")
    footer_vi: str = Field("", description="Last lines of a Vietnamese receipt.")
    footer_en: str = Field("", description="Last lines of an English receipt.")
    smtp: SmtpSection | None = Field(None, description="Mail server for e-mail receipts.")

    @model_validator(mode="after")
    def _email_needs_smtp(self) -> Self:
        if self.email and self.smtp is None:
            _raise_if([("email", "e-mail receipts need a [receipts.smtp] section")])
        return self


class MqttSection(_Section):
    """The link to the fleet's MQTT broker (central monitoring)."""

    host: str = Field(min_length=1, description="Broker host name or address.")
    port: int = Field(8883, ge=1, le=65535, description="Broker port: 8883 (TLS), 1883 (plain).")
    tls: bool = Field(True, description="Connect with TLS.")
    ca_file: Path | None = Field(
        None, description="PEM file of the CA of the broker; none: the system's CAs."
    )
    username: str | None = Field(None, description="Login name; none: no login.")
    password_env: str | None = _password_env()
    password_file: Path | None = _password_file()
    client_id: str | None = Field(
        None, min_length=1, description="MQTT client id; none: the device id."
    )
    topic_prefix: str = Field(
        "muontra",
        pattern=r"^[^/+#\s]([^+#\s]*[^/+#\s])?$",
        description="First levels of every topic, e.g. 'muontra' or 'thuvien/hanoi'.",
    )
    command_max_age: float = Field(
        300.0,
        gt=0,
        le=7 * 24 * 3600,
        description=(
            "Seconds: a command from central monitoring dated longer ago than this is "
            "refused as stale (a captured command cannot be replayed later). Keep the "
            "device's clock set (NTP)."
        ),
    )
    command_max_ahead: float = Field(
        60.0,
        ge=0,
        le=24 * 3600,
        description=(
            "Seconds: a command dated further ahead of the device's clock than this is "
            "refused (the clocks of central and the device may differ by this much)."
        ),
    )
    require_signed_commands: bool = Field(
        False,
        description=(
            "Refuse every command from central that is not signed with the site's command "
            "key, is past its expiry, or was taken before (docs/mqtt.md, signed commands): "
            "for a site that cannot trust its broker. Needs command_key_file or "
            "command_key_env."
        ),
    )
    command_key_env: str | None = Field(
        None,
        min_length=1,
        description=(
            "Name of an environment variable holding the site's command key (the same key "
            "central has for the site in [central.signing]; at least 32 characters, e.g. "
            "`openssl rand -hex 32`). Not the site_key: that one keys patron_ref."
        ),
    )
    command_key_file: Path | None = Field(
        None,
        description=(
            "File holding the site's command key (see command_key_env; one line). A "
            "relative path is looked up in $CREDENTIALS_DIRECTORY under systemd's "
            "LoadCredential=. With a key, a signed command is checked even when "
            "require_signed_commands is false."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _raise_if(_one_secret_source(self.password_env, self.password_file))
        if self.command_key_env is not None and self.command_key_file is not None:
            _raise_if(
                [("command_key_file", "set either command_key_env or command_key_file, not both")]
            )
        if self.require_signed_commands and (
            self.command_key_env is None and self.command_key_file is None
        ):
            _raise_if(
                [
                    (
                        "require_signed_commands",
                        "signed commands need the site's command key: set command_key_file "
                        "or command_key_env",
                    )
                ]
            )
        return self

    def password(self) -> str | None:
        """The broker password from password_env or password_file (None: none set)."""
        return _read_secret(self.password_env, self.password_file)

    def command_key(self) -> bytes | None:
        """The site's command key (None: none set); SecretError if unreadable or too short."""
        value = _read_secret(self.command_key_env, self.command_key_file)
        if value is None:
            return None
        if len(value.strip()) < MIN_SITE_KEY:
            raise SecretError(
                f"the command key must have at least {MIN_SITE_KEY} characters "
                "(make one with `openssl rand -hex 32`)"
            )
        return value.strip().encode("utf-8")


class GateSection(_Section):
    """A security gate: the readers of its antennas and what it does on an alarm."""

    readers: list[str] = Field(
        min_length=1,
        description=("RFID readers of the gate's antennas, e.g. ['feig+serial:///dev/ttyUSB0']."),
    )
    alarm_outputs: list[str] = Field(
        default_factory=lambda: ["red", "buzzer"],
        description="Outputs of devices.outputs switched on by an alarm.",
    )
    alarm_seconds: float = Field(3.0, gt=0, description="Seconds an alarm lasts.")
    trusted_devices: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]] = Field(
        default_factory=list,
        description=(
            "Device ids of this site's kiosks whose checkouts and returns, heard over "
            "MQTT, the gate believes (grace_minutes, failed security writes), e.g. "
            "['kiosk-01', 'kiosk-02']. Events of any other device, or of another site, "
            "are ignored and logged. Needed with grace_minutes and [mqtt]."
        ),
    )
    grace_minutes: float = Field(
        0.0,
        ge=0,
        description=(
            "Minutes after a checkout during which the gate does not alarm on that "
            "item even if its tag still reads secured; 0: no grace."
        ),
    )
    beams: str | None = Field(
        None,
        description=(
            "Light beams that count people and tell the direction, e.g. "
            "'gpio+in://?beam_a=5&beam_b=6'."
        ),
    )

    _readers_unique = field_validator("readers")(_unique)
    _trusted_unique = field_validator("trusted_devices")(_unique)

    @field_validator("readers")
    @classmethod
    def _readers(cls, values: list[str]) -> list[str]:
        problems: list[tuple[str, str]] = []
        for index, url in enumerate(values):
            try:
                check_device_url(url, "tag reader")
            except ValueError as exc:
                problems.append((f"{index}", str(exc)))
        _raise_if(problems)
        return values

    @field_validator("beams")
    @classmethod
    def _beams(cls, value: str | None) -> str | None:
        return None if value is None else check_device_url(value, "inputs")


class DeviceConfig(_Section):
    """The whole configuration of one device."""

    device: DeviceSection = Field(description="Who this device is.")
    ils: IlsSection = Field(description="The library system.")
    devices: DevicesSection = Field(
        default_factory=DevicesSection, description="Hardware of a kiosk or return station."
    )
    security: SecuritySection = Field(
        default_factory=SecuritySection, description="How items are secured."
    )
    patron: PatronSection = Field(default_factory=PatronSection, description="Patron sessions.")
    offline: OfflineSection = Field(
        default_factory=OfflineSection, description="Lending while the ILS is down."
    )
    tags: TagsSection = Field(default_factory=TagsSection, description="Accepted tags.")
    journal: JournalSection = Field(
        default_factory=JournalSection, description="The journal: retention, the PIN key."
    )
    receipts: ReceiptsSection = Field(default_factory=ReceiptsSection, description="Receipts.")
    mqtt: MqttSection | None = Field(None, description="Fleet monitoring over MQTT.")
    detection: DetectionSection = Field(
        default_factory=DetectionSection, description="Thresholds of the attack detectors."
    )
    gate: GateSection | None = Field(None, description="The gate role.")
    tamper: TamperSection = Field(
        default_factory=TamperSection,
        description="Device tampering and tag security checks: opening hours, the case switch.",
    )
    sorter: dict[str, Any] | None = Field(
        None,
        description=(
            "The return machine's bins and sort (role 'sorter'); validated by the sorter's "
            "own model (sorter/settings.py, docs/sorter.md)."
        ),
    )

    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    def section(self, name: str) -> BaseModel:
        """The validated model of role section ``name`` (e.g. ``"sorter"``); KeyError if absent."""
        return self._sections[name]

    @model_validator(mode="after")
    def _role_sections(self) -> Self:
        """Validate each role section with its role's model, found by entry point."""
        problems: list[tuple[str, str]] = []
        for name in ("sorter",):
            data = getattr(self, name)
            if data is None:
                continue
            try:
                model = model_for(name)
            except SectionUnknown as exc:
                problems.append((name, str(exc)))
                continue
            try:
                self._sections[name] = model.model_validate(data)
            except ValidationError as exc:
                problems += [
                    (f"{name}.{key}" if key else name, message)
                    for key, message in _relative_problems(exc, model)
                ]
        _raise_if(problems)
        return self

    @model_validator(mode="after")
    def _role_has_its_hardware(self) -> Self:
        role = self.device.role
        problems: list[tuple[str, str]] = []
        if role is not Role.SORTER and self.sorter is not None:
            problems.append(("sorter", '[sorter] is used only with role = "sorter"'))
        if role is Role.SORTER:
            problems += self._sorter_problems()
        elif role is Role.GATE:
            if self.gate is None:
                problems.append(("gate", "role 'gate' needs a [gate] section with its readers"))
            else:
                names = self.devices.output_names()
                missing = [
                    n for n in self.gate.alarm_outputs if names is not None and n not in names
                ]
                if missing and self.devices.outputs is None:
                    problems.append(
                        (
                            "devices.outputs",
                            f"the gate's alarm_outputs ({', '.join(missing)}) need devices.outputs"
                            " (or set gate.alarm_outputs = [])",
                        )
                    )
                elif missing:
                    problems.append(
                        (
                            "gate.alarm_outputs",
                            f"not outputs of devices.outputs: {', '.join(missing)}",
                        )
                    )
        else:
            if self.devices.pad is None:
                problems.append(
                    ("devices.pad", f"role '{role}' needs the pad reader, e.g. pad = \"sim://pad\"")
                )
            if self.gate is not None:
                problems.append(("gate", '[gate] is used only with role = "gate"'))
        problems += self._mqtt_trust_problems()
        _raise_if(problems)
        return self

    def _sorter_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.sorter is None:
            problems.append(("sorter", "role 'sorter' needs a [sorter] section with its bins"))
        if self.devices.tunnel is None:
            problems.append(
                (
                    "devices.tunnel",
                    "role 'sorter' needs the tunnel reader, e.g. tunnel = \"sim://conveyor\"",
                )
            )
        if self.devices.conveyor is None:
            problems.append(
                (
                    "devices.conveyor",
                    "role 'sorter' needs the conveyor, e.g. conveyor = \"conveyor+sim://conveyor\"",
                )
            )
        if self.gate is not None:
            problems.append(("gate", '[gate] is used only with role = "gate"'))
        return problems

    def _mqtt_trust_problems(self) -> list[tuple[str, str]]:
        """What a device on MQTT needs: the fleet link must neither leak nor believe too much."""
        if self.mqtt is None:
            return []
        if self.gate is not None:
            if self.gate.grace_minutes > 0 and not self.gate.trusted_devices:
                return [
                    (
                        "gate.trusted_devices",
                        "grace_minutes needs the ids of this site's kiosks whose checkouts "
                        'the gate may believe, e.g. trusted_devices = ["kiosk-01"]',
                    )
                ]
            return []
        device = self.device
        if device.site_key_env is None and device.site_key_file is None:
            return [
                (
                    "device.site_key_file",
                    "a kiosk on MQTT needs the site's secret key (site_key_file or "
                    "site_key_env), the same on every device of the site: it keys "
                    "patron_ref, which leaves the device",
                )
            ]
        return []


# -- reading a file ---------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$|\s*\(at end of document\)$")


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> ConfigProblem:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if match is None:
        return ConfigProblem("", None, f"not valid TOML: {message}")
    line = int(match.group(1)) if match.group(1) else max(1, text.count("\n"))
    return ConfigProblem("", line, f"not valid TOML: {message[: match.start()]}")


def _relative_problems(exc: ValidationError, root: type[BaseModel]) -> list[tuple[str, str]]:
    """A role section's validation errors as (key relative to the section, message)."""
    found: list[tuple[str, str]] = []
    for error in exc.errors():
        path: list[str | int] = [
            part
            for part in error["loc"]
            if isinstance(part, int) or re.fullmatch(r"[A-Za-z0-9_-]+", part)
        ]
        cause = error.get("ctx", {}).get("error")
        keyed = getattr(cause, "problems", None)
        if isinstance(keyed, list):  # the role's own keyed problems (cross-field checks)
            for relative, message in keyed:
                full = path + [part for part in str(relative).split(".") if part]
                found.append((".".join(str(p) for p in full), str(message)))
        else:
            found.append((".".join(str(p) for p in path), _message(error, path, root)))
    return found


def _model_at(
    path: Sequence[str | int], root: type[BaseModel] | None = None
) -> type[BaseModel] | None:
    """The model class of the section at ``path`` (for listing its keys)."""
    model: type[BaseModel] = root or DeviceConfig
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        inner = _model_in(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) or part.isdigit() else f".{part}"
    return text.lstrip(".")


def _message(
    error: Mapping[str, Any], path: list[str | int], root: type[BaseModel] | None = None
) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        what = "section" if isinstance(error["input"], dict) else "key"
        parent = _model_at(path[:-1], root)
        known = list(parent.model_fields) if parent is not None else []
        close = difflib.get_close_matches(str(path[-1]), known, n=1)
        if close:
            return f"unknown {what}; did you mean {close[0]!r}?"
        return f"unknown {what}; known here: {', '.join(known)}"
    if kind == "missing":
        section = _model_at(path, root) is not None
        return "required section is missing" if section else "required key is missing"
    message = str(error["msg"])
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)):
        message += f", got {value!r}"
    return message


def problems_from_validation(
    exc: ValidationError, lines: Mapping[KeyPath, int] | None = None
) -> list[ConfigProblem]:
    """pydantic's errors as located problems, one per key, in file order."""
    lines = lines or {}
    found: list[ConfigProblem] = []
    for error in exc.errors():
        # Drop pydantic's schema steps ("function-after[…]") that are no keys.
        path: list[str | int] = [
            part
            for part in error["loc"]
            if isinstance(part, int) or re.fullmatch(r"[A-Za-z0-9_-]+", part)
        ]
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _KeyedProblems):
            for relative, message in cause.problems:
                full = path + [part for part in relative.split(".") if part]
                found.append(ConfigProblem(_dotted(full), find_line(lines, full), message))
        else:
            found.append(
                ConfigProblem(_dotted(path), find_line(lines, path), _message(error, path))
            )
    return sorted(found, key=lambda problem: (problem.line or 0, problem.key))


def secret_problems(
    config: DeviceConfig, lines: Mapping[KeyPath, int] | None = None
) -> list[ConfigProblem]:
    """Problems reading the configured secrets (run as the daemon's user to mean anything)."""
    lines = lines or {}
    sections: list[tuple[str, IlsSection | SmtpSection | MqttSection | None]] = [
        ("ils", config.ils),
        ("receipts.smtp", config.receipts.smtp),
        ("mqtt", config.mqtt),
    ]
    found: list[ConfigProblem] = []
    for prefix, section in sections:
        if section is None:
            continue
        try:
            section.password()
        except SecretError as exc:
            field = "password_env" if section.password_env is not None else "password_file"
            key = f"{prefix}.{field}"
            found.append(ConfigProblem(key, find_line(lines, key), str(exc)))
    if config.mqtt is not None:
        try:
            config.mqtt.command_key()
        except SecretError as exc:
            field = "command_key_env" if config.mqtt.command_key_env else "command_key_file"
            key = f"mqtt.{field}"
            found.append(ConfigProblem(key, find_line(lines, key), str(exc)))
    try:
        config.device.site_key()
    except SecretError as exc:
        field = "site_key_env" if config.device.site_key_env is not None else "site_key_file"
        key = f"device.{field}"
        found.append(ConfigProblem(key, find_line(lines, key), str(exc)))
    return found


# Schemes whose target is a device node of this machine, and the access the daemon needs.
_DEVICE_NODES = {
    "feig+serial": os.R_OK | os.W_OK,
    "3m+serial": os.R_OK | os.W_OK,
    "barcode+serial": os.R_OK,
    "barcode+evdev": os.R_OK,
    "escpos+serial": os.W_OK,
}


def _urls(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _urls(item, (*path, key))]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _urls(item, (*path, str(i)))]
    return [(path, value)] if isinstance(value, str) and "://" in value else []


def device_problems(
    config: DeviceConfig, lines: Mapping[KeyPath, int] | None = None
) -> list[ConfigProblem]:
    """Device nodes the configuration names that this machine lacks or this user cannot open.

    Run on the device as the daemon's user (``config check --secrets``), like the
    secrets: a reader on /dev/ttyUSB1 that is plugged in as /dev/ttyUSB0 is found
    here, not by a kiosk that does not start.
    """
    lines = lines or {}
    found: list[ConfigProblem] = []
    for path, url in _urls(config.model_dump(mode="json")):
        try:
            parsed = parse_url(url)
        except DeviceUrlError:
            continue
        access = _DEVICE_NODES.get(parsed.scheme)
        node = parsed.target
        if access is None or not node.startswith("/"):
            continue
        try:
            mode = os.stat(node).st_mode
        except OSError as exc:
            problem: str | None = f"{node}: {exc.strerror} (is the device plugged in?)"
        else:
            if not stat.S_ISCHR(mode):
                kind = _FILE_KINDS.get(stat.S_IFMT(mode), "a regular file")
                problem = f"{node} is {kind}, not a device"
            elif not os.access(node, access):
                problem = f"{node}: permission denied for this user (add it to the device's group)"
            else:
                problem = None
        if problem is not None:
            found.append(ConfigProblem(_dotted(path), find_line(lines, path), problem))
    return found


def parse_config(text: str, *, secrets: bool = False, devices: bool | None = None) -> DeviceConfig:
    """The configuration in TOML ``text``; ConfigError lists every problem with its line.

    ``secrets`` also reads every configured password, which only means something
    as the daemon's user and in its environment; by default they are read when used.
    ``devices`` (by default as ``secrets``) also looks up the device nodes named.
    """
    deep = f"nested more than {MAX_DEPTH} levels deep; a device configuration needs a few"
    try:
        data: dict[str, Any] | None = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_problem(exc, text)]) from None
    except RecursionError:
        data = None  # where: the scanner below finds it
    try:
        lines = key_lines(text)
    except TooDeep as exc:
        raise ConfigError([ConfigProblem(_dotted(exc.key), exc.line, deep)]) from None
    if data is None:
        raise ConfigError([ConfigProblem("", None, f"a value is {deep}")])
    try:
        config = DeviceConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, lines)) from None
    problems = secret_problems(config, lines) if secrets else []
    if secrets if devices is None else devices:
        problems += device_problems(config, lines)
    if problems:
        raise ConfigError(problems)
    return config


def load_config(path: Path, *, secrets: bool = False, devices: bool | None = None) -> DeviceConfig:
    """Read and validate a device configuration file; ConfigError names key and line."""
    try:
        text = read_regular_file(path, MAX_CONFIG_BYTES).decode("utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem("", None, f"cannot read: {exc.strerror}")], path) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError([ConfigProblem("", line, "not UTF-8 text")], path) from None
    except ValueError as exc:
        raise ConfigError([ConfigProblem("", None, str(exc))], path) from None
    try:
        config = parse_config(text, secrets=secrets, devices=devices)
    except ConfigError as exc:
        raise ConfigError(exc.problems, path) from None
    log.debug("configuration %s: role %s, device %s", path, config.device.role, config.device.id)
    return config


def mask_url(url: str) -> str:
    """``url`` with its password and secret-looking parameters replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    parts = urlsplit("x://" + rest)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
    query = "&".join(
        f"{key}=***"
        if _SECRET_PARAMS.search(key) and not key.endswith(("_env", "_file"))
        else f"{key}={value}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    masked = f"{scheme}://{netloc}{parts.path}"
    return f"{masked}?{query}" if query else masked
