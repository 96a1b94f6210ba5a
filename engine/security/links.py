"""Attacks on the device's links: the ILS refusing our SIP2 login, a TLS certificate
that does not verify (ILS or broker), the broker refusing our MQTT login again and again.

These happen while a link is down, so the events go the usual way, onto the
engine's bus: the MQTT bridge stores them in the durable outbox, and the link
sends them once the broker takes us (a refused broker login is reported on
the next connection that succeeds).
"""

from __future__ import annotations

import logging
import threading

from engine.ils.errors import IlsError, IlsLoginError, IlsTlsUnverified
from engine.security.reporter import SecurityReporter
from protocols.mqtt.security_schema import Severity, Threat

__all__ = ["LinkWatch"]

log = logging.getLogger(__name__)


class LinkWatch:
    """Turns what the ILS and MQTT links meet into security events; thread-safe."""

    def __init__(self, reporter: SecurityReporter, *, mqtt_failures: int = 3) -> None:
        self.reporter = reporter
        self.mqtt_failures = mqtt_failures
        self._lock = threading.Lock()
        self._refused_in_a_row = 0

    # --- the ILS (SipConnection.on_refused, any ILS thread) ----------------------------------

    def ils_refused(self, error: IlsError) -> None:
        with self._lock:
            if isinstance(error, IlsTlsUnverified):
                self.reporter.report(
                    Threat.TLS_UNVERIFIED,
                    Severity.CRITICAL,
                    ("ils", error.detail),
                    part="ils",
                    detail=error.detail,
                )
            elif isinstance(error, IlsLoginError):
                self.reporter.report(Threat.SIP2_LOGIN_REFUSED, Severity.WARNING, "ils")

    # --- the broker (MqttLink's on_trouble, paho's thread) ----------------------------------

    def mqtt(self, what: str, detail: str | None = None) -> None:
        """``what``: ``login_refused``, ``tls_unverified`` (with ``detail``) or ``connected``."""
        with self._lock:
            if what == "connected":
                self._refused_in_a_row = 0
            elif what == "login_refused":
                self._refused_in_a_row += 1
                if self._refused_in_a_row >= self.mqtt_failures:
                    self.reporter.report(
                        Threat.MQTT_LOGIN_FAILED,
                        Severity.WARNING,
                        "broker",
                        count=self._refused_in_a_row,
                    )
            elif what == "tls_unverified":
                self.reporter.report(
                    Threat.TLS_UNVERIFIED,
                    Severity.CRITICAL,
                    ("broker", detail),
                    part="broker",
                    detail=detail or "not_verified",
                )
            else:
                log.debug("unknown MQTT link trouble %r", what)
