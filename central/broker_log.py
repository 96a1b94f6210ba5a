"""Refused MQTT logins, from the broker's own log (opt-in: ``[central.alerts] broker_refusals``).

Neither MQTT nor mosquitto's ``$SYS`` counters say that a login was refused: the
refusal is only in the broker's log. mosquitto can publish its log on
``$SYS/broker/log/{level}`` (``log_dest topic`` in mosquitto.conf); a refused login
is a notice there, ``Client <unknown> disconnected, not authorised.`` (mosquitto
2.0; tests/central/test_security_broker_log.py reads it from the installed broker).
The line names neither the user nor the client id (mosquitto drops the connection
before it takes them), and the ``New connection from ...`` line before it may belong
to another connection on a busy broker, so central counts refusals per broker, not
per device or address: many refusals in a window is a password being guessed (or a
device with a wrong one), which is what staff need to know. Who it was is in the
broker's own log, with addresses; a brute force is stopped there (fail2ban or the
firewall), not by central.

The log text is not an API: another broker (EMQX, VerneMQ) or version words it
otherwise, and this reader then finds nothing (it never alerts on text it does not
know). A device refused by the broker also says so itself once it gets in
(``mqtt_login_failed``).
"""

from __future__ import annotations

import re
from collections import deque
from typing import Final

__all__ = ["DEVICE", "LOG_TOPIC", "RULE", "RefusedLogins", "is_refusal"]

LOG_TOPIC: Final = "$SYS/broker/log/N"
"""mosquitto's notices, where a refused login is logged."""
RULE: Final = "broker_logins_refused"
"""The rule of the alert (device: :data:`DEVICE`)."""
DEVICE: Final = "broker"
_REFUSED = re.compile(r"^\d+: Client \S+ disconnected, not authori[sz]ed\.?$")
_MAX_LINE = 1024


def is_refusal(payload: bytes) -> bool:
    """True for mosquitto's log line of a refused login (nothing else, whatever it holds)."""
    if len(payload) > _MAX_LINE:
        return False
    text = payload.decode("utf-8", "replace").strip()
    return bool(_REFUSED.match(text))


class RefusedLogins:
    """The refusals of the last ``window`` seconds; :meth:`refused` says when they are many."""

    def __init__(self, threshold: int, window: float) -> None:
        self.threshold = threshold
        self.window = window
        self._times: deque[float] = deque()

    def refused(self, now: float) -> int:
        """Count one refusal at ``now``; the refusals in the window at the threshold, else 0."""
        times = self._times
        times.append(now)
        while times and now - times[0] > self.window:
            times.popleft()
        while len(times) > max(self.threshold, 1) * 4:  # bounded whatever the rate
            times.popleft()
        return len(times) if self.threshold and len(times) >= self.threshold else 0
