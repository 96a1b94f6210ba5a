"""How a site marks an item as secured (on the shelf) or released (on loan).

Sites use the AFI byte, the NXP EAS bit, or both; the values differ by vendor
generation. The defaults are the common ISO values (0x07 secured, 0xC2 on
loan); ``PRESETS`` names the other usual settings so a config can say
``security = "3m"`` instead of repeating hex.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    use_afi: bool = True
    use_eas: bool = False
    afi_secured: int = 0x07
    """AFI of an item that must alarm at the gate (on the shelf)."""
    afi_unsecured: int = 0xC2
    """AFI of an item on loan."""
    alarm_on_foreign_afi: bool = False
    """Alarm also on AFI values that are neither of the two (a tag of another system)."""

    def __post_init__(self) -> None:
        if not (self.use_afi or self.use_eas):
            raise ValueError("a security policy needs AFI, EAS or both")
        for name in ("afi_secured", "afi_unsecured"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{name} must be one byte, not {value}")
        if self.use_afi and self.afi_secured == self.afi_unsecured:
            raise ValueError("afi_secured and afi_unsecured must differ")

    def target_afi(self, secured: bool) -> int:
        return self.afi_secured if secured else self.afi_unsecured

    def alarms(self, afi: int | None, eas: bool | None) -> bool:
        """Whether a tag with this AFI / EAS state should alarm at a gate."""
        if self.use_afi and afi is not None:
            if afi == self.afi_secured:
                return True
            if self.alarm_on_foreign_afi and afi != self.afi_unsecured:
                return True
        return bool(self.use_eas and eas)

    def is_secured(self, afi: int | None, eas: bool | None) -> bool | None:
        """True/False when every mechanism in use agrees, None when they disagree or are unknown."""
        states: list[bool] = []
        if self.use_afi:
            if afi == self.afi_secured:
                states.append(True)
            elif afi == self.afi_unsecured:
                states.append(False)
            else:
                return None
        if self.use_eas:
            if eas is None:
                return None
            states.append(eas)
        return states[0] if len(set(states)) == 1 else None


PRESETS: dict[str, SecurityPolicy] = {
    "afi": SecurityPolicy(),
    "eas": SecurityPolicy(use_afi=False, use_eas=True),
    "afi+eas": SecurityPolicy(use_eas=True),
    # Older 3M installations: 0xD7 secured, 0xDA released (as their gates are set up).
    "3m": SecurityPolicy(afi_secured=0xD7, afi_unsecured=0xDA),
}
