"""The one exception type the SIP2 codec raises."""


class SIP2Error(ValueError):
    """Raised for SIP2 data that cannot be decoded or a message that cannot be encoded."""
