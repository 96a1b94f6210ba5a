"""Errors of the ILS link, each saying what a caller can do about it."""

from engine.security.tls import tls_detail

__all__ = [
    "IlsAnswerLost",
    "IlsConnectionError",
    "IlsError",
    "IlsLoginError",
    "IlsRequestRefused",
    "IlsTimeout",
    "IlsTlsUnverified",
    "tls_detail",
]


class IlsError(Exception):
    """Base of every ILS link error."""


class IlsConnectionError(IlsError):
    """The ILS cannot be reached, or the link broke; the outcome of the call is unknown."""


class IlsAnswerLost(IlsConnectionError):
    """The request was sent but no answer came back: the ILS may or may not have done it.

    A caller must ask the ILS what happened (item information) before deciding;
    treating it as "never sent" would, for a checkout, lend offline an item the
    ILS had refused (for someone else's hold, say).
    """


class IlsTimeout(IlsAnswerLost):
    """The ILS did not answer in time."""


class IlsRequestRefused(IlsError):
    """The request was never sent: a value in it would have forged SIP2 (a CR, LF, ``|``
    or other control character), so the encoder refused it.

    Retrying cannot help; a transaction carrying such a value (from a journal an
    older version wrote) goes to staff as a conflict.
    """


class IlsLoginError(IlsError):
    """The ILS refused the SIP2 login (93): wrong user id, password or location."""


class IlsTlsUnverified(IlsConnectionError):
    """The ILS's TLS certificate did not verify (expired, self-signed, another host's):
    the link is not opened, since whoever answers may not be the ILS.

    ``detail`` is a short code for the security event (see :func:`engine.security.tls.tls_detail`).
    """

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail
