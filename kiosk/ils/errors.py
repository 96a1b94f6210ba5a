"""Errors of the ILS link, each saying what a caller can do about it."""


class IlsError(Exception):
    """Base of every ILS link error."""


class IlsConnectionError(IlsError):
    """The ILS cannot be reached, or the link broke; the outcome of the call is unknown."""


class IlsTimeout(IlsConnectionError):
    """The ILS did not answer in time."""


class IlsLoginError(IlsError):
    """The ILS refused the SIP2 login (93): wrong user id, password or location."""
