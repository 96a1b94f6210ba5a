"""Which devices' events a gate believes: its own site's kiosks listed in the config.

A gate hears its site's kiosk events over MQTT. A checkout there opens the
grace window, in which the gate keeps quiet for that item; so whoever can
publish a checkout event can walk a book out unlent. The broker's ACL (see
docs/mqtt.md) makes a topic name its publisher; the link checks that the
payload names the same device and site; this filter then passes on only the
events of devices listed in ``[gate] trusted_devices`` of the gate's own site.
Anything else is ignored and logged — by site, device and kind only: an event
may carry a patron reference, which stays out of the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from protocols.mqtt.payloads import Event

__all__ = ["TrustedSenders"]

log = logging.getLogger(__name__)

LOG_EVERY = 60.0
"""Seconds between two log lines about the same untrusted sender (a flood stays one line)."""


class TrustedSenders:
    """Wraps a site-event handler: only listed devices of ``site`` reach it."""

    def __init__(
        self,
        site: str,
        trusted: Iterable[str],
        deliver: Callable[[str, Event], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.site = site
        self.trusted = frozenset(trusted)
        self.deliver = deliver
        self.clock = clock
        self.ignored = 0
        self._last_logged: dict[tuple[str, str], tuple[float, int]] = {}

    def __call__(self, kind: str, event: Event) -> None:
        sender = event.envelope
        if sender.site == self.site and sender.device in self.trusted:
            self.deliver(kind, event)
            return
        self.ignored += 1
        self._log(kind, sender.site, sender.device)

    def _log(self, kind: str, site: str, device: str) -> None:
        key = (site, device)
        now = self.clock()
        last, held = self._last_logged.get(key, (float("-inf"), 0))
        if now - last < LOG_EVERY:
            self._last_logged[key] = (last, held + 1)
            return
        if len(self._last_logged) > 1000:  # a flood of invented ids: keep the memory bounded
            self._last_logged.clear()
        self._last_logged[key] = (now, 0)
        more = f" (and {held} more from it since the last line)" if held else ""
        log.warning(
            "ignored a %s event from %s/%s: not a trusted device of site %s "
            "(gate.trusted_devices)%s",
            kind,
            site,
            device,
            self.site,
            more,
        )
