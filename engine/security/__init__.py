"""Attack and tampering detection on a device (issue 15): typed, rate-limited security events.

:mod:`engine.security.reporter` is the one way a detector tells the fleet what it
saw; the event's fields are the closed list of
:mod:`protocols.mqtt.security_schema`, so no detector can put a PIN, patron id or
name on the wire. docs/security.md lists the threats and what staff should do.
"""
