"""A tag whose AFI is neither of the site's two values: ``foreign_afi``.

A site's tags hold one of two AFIs, secured and on loan. Any other value is a
tag of another system, or a tag someone re-wrote to a value the gate's filtered
rounds never ask for (a secured book that stays silent at the gate). The gate
and the sorter's intake both feed every AFI they learn here; neither asks a tag
for its AFI for this check alone (that would hold the antenna).

A flood of distinct hostile UIDs (a tag emulator cycling its UID) is one event
per UID per window through the reporter, whose memory of subjects is bounded;
this module keeps nothing of its own per UID.
"""

from __future__ import annotations

from engine.security.reporter import SecurityReporter
from protocols.mqtt.security_schema import Severity, Threat
from protocols.tags import SecurityPolicy

__all__ = ["AfiWatch"]


class AfiWatch:
    def __init__(self, policy: SecurityPolicy, reporter: SecurityReporter) -> None:
        self.policy = policy
        self.reporter = reporter
        self._ours = frozenset({policy.afi_secured, policy.afi_unsecured})

    def foreign(self, afi: int | None) -> bool:
        """Whether ``afi`` is known and is neither of the site's values (on an AFI site)."""
        return self.policy.use_afi and afi is not None and afi not in self._ours

    def seen(self, uid: bytes, afi: int | None) -> bool:
        """Feed one tag's AFI (None: not known); True when it is foreign."""
        if not self.foreign(afi):
            return False
        assert afi is not None
        uid_hex = uid.hex().upper()
        self.reporter.report(Threat.FOREIGN_AFI, Severity.WARNING, uid, uid=uid_hex, afi=afi)
        return True
