"""Logging set up once for every muontra process, with patron data masked.

Library code logs through ``logging.getLogger(__name__)`` and should never put a
patron id, PIN or name in a message. The filter here is the safety net for the
places that log protocol traffic: it masks the SIP2 fields that carry patron
identity or secrets wherever they appear in a log line.
"""

from __future__ import annotations

import logging
import re
import sys

# SIP2 field ids that identify a patron or carry a secret: patron id, patron
# password (PIN), terminal password, login user id and password, personal name,
# home address, e-mail, phone.
SENSITIVE_SIP2_FIELDS = ("AA", "AD", "AC", "CN", "CO", "AE", "BD", "BE", "BF")

# A field starts after a '|' or right after the fixed part, which in every
# message that carries these fields ends in a digit (a date or a count);
# requiring that keeps ordinary words such as "ACCOUNT" out of it.
_FIELD_RE = re.compile(r"(?<=[|0-9])(" + "|".join(SENSITIVE_SIP2_FIELDS) + r")([^|\r\n]*)")


def mask_sip2(text: str) -> str:
    """Replace the values of patron-identifying SIP2 fields with ``***``."""
    return _FIELD_RE.sub(lambda m: m.group(1) + ("***" if m.group(2) else ""), text)


class MaskingFilter(logging.Filter):
    """Masks patron data in every record, after %-formatting of its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_sip2(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


def configure_logging(verbosity: int = 0) -> None:
    """Send logs to stderr, once per process; ``verbosity`` 0 warning, 1 info, 2+ debug."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    root = logging.getLogger()
    root.setLevel(level)
    if any(isinstance(f, MaskingFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root.addHandler(handler)
