"""A device's side of signed commands: which commands it refuses, what it answers, what it reports.

With ``[mqtt] require_signed_commands = true`` (and the site's command key) the link
runs a command only when its signature is right under the key and its expiry has
not passed by the device's clock (allowing :data:`~protocols.mqtt.signing.CLOCK_SKEW`
seconds), and only once: the id is claimed in the command log on disk, so a
captured command replayed — before or after a restart — is refused. The signature
is checked *before* the id is claimed, so a forged command cannot use up the id of
a real one.

A refused command is answered (``ok: false``, ``reason`` the code, the text in
Vietnamese and English, since staff read it in central's audit) and reported as a
``security`` event ``command_refused`` with ``detail`` the code, rate-limited by
the reporter. A device with a key but without the requirement still checks the
commands that come signed, and takes unsigned ones (a site moving to signing).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.events import EventBus
from engine.security.reporter import DEFAULT_WINDOW, SecurityReporter
from protocols.mqtt.payloads import Command
from protocols.mqtt.security_schema import Severity, Threat
from protocols.mqtt.signing import CLOCK_SKEW, MIN_KEY, Refusal, check_signature

__all__ = ["REFUSAL_TEXTS", "CommandGuard", "refusal_detail", "refusal_reporter"]

REFUSAL_TEXTS: dict[Refusal, tuple[str, str]] = {
    Refusal.UNSIGNED: (
        "Lệnh không có chữ ký, thiết bị này chỉ nhận lệnh đã ký",
        "the command is not signed and this device takes signed commands only",
    ),
    Refusal.BAD_SIGNATURE: (
        "Chữ ký của lệnh không đúng (khoá của điểm thư viện khác, hoặc lệnh bị sửa)",
        "the command's signature is wrong (another site's key, or the command was altered)",
    ),
    Refusal.EXPIRED: (
        "Lệnh đã hết hạn theo đồng hồ của thiết bị",
        "the command has expired by this device's clock",
    ),
    Refusal.REPLAYED: (
        "Lệnh này đã được nhận trước đó, không thực hiện lại",
        "this command was taken before and is not run again",
    ),
}
"""Vietnamese and English, as staff read them in a command's result."""

# A forged or replayed command means someone other than central wrote to the
# device's command topic; an expired one is as often a clock as an attack.
_SEVERITY = {
    Refusal.UNSIGNED: Severity.CRITICAL,
    Refusal.BAD_SIGNATURE: Severity.CRITICAL,
    Refusal.REPLAYED: Severity.CRITICAL,
    Refusal.EXPIRED: Severity.WARNING,
}


def refusal_detail(refusal: Refusal, more: str | None = None) -> str:
    """The result's ``detail`` for a refused command: both languages, then "not run"."""
    vietnamese, english = REFUSAL_TEXTS[refusal]
    tail = f" ({more})" if more else ""
    return f"refused ({refusal.value}): {vietnamese} / {english}{tail}; not run"


@dataclass(frozen=True, slots=True)
class CommandGuard:
    """Whether a command's signature and expiry let it run on this device."""

    key: bytes | None
    required: bool
    max_lifetime: float
    """Seconds: a signed command may not expire later than this after now (the device
    remembers a command id only so long)."""
    skew: float = CLOCK_SKEW

    def __post_init__(self) -> None:
        if self.required and self.key is None:
            raise ValueError("require_signed_commands needs the site's command key")
        if self.key is not None and len(self.key) < MIN_KEY:
            # Caught here, at start, rather than as every command failing to be checked.
            raise ValueError(f"the command key must be at least {MIN_KEY} bytes")

    @property
    def checks_replays(self) -> bool:
        """Whether a repeated id is refused as a replay (and reported), not only answered."""
        return self.required

    def check(self, command: Command, now: float) -> Refusal | None:
        """None when ``command`` may go on to the once-only check; else why it is refused."""
        if self.key is None or (command.sig is None and not self.required):
            return None
        return check_signature(
            command, self.key, now, skew=self.skew, max_lifetime=self.max_lifetime
        )


def refusal_reporter(
    bus: EventBus, *, window: float = DEFAULT_WINDOW, clock: Callable[[], float] = time.monotonic
) -> Callable[[Refusal], None]:
    """The link's ``on_refused``: a ``command_refused`` security event per refusal code,
    at most one per ``window`` seconds (with the count), through :class:`SecurityReporter`."""
    reporter = SecurityReporter(bus, window=window, clock=clock)

    def report(refusal: Refusal) -> None:
        reporter.report(
            Threat.COMMAND_REFUSED, _SEVERITY[refusal], subject=refusal, detail=refusal.value
        )

    return report
