"""Why a TLS certificate did not verify, as a short code for the ``tls_unverified`` event."""

from __future__ import annotations

__all__ = ["tls_detail"]


# OpenSSL's X509_V_ERR_* codes that tell staff what to look at.
_VERIFY_CODES = {
    9: "not_yet_valid",
    10: "expired",
    18: "self_signed",
    19: "self_signed",
    20: "unknown_issuer",
    21: "unknown_issuer",
    62: "hostname_mismatch",
    64: "hostname_mismatch",
}


def tls_detail(verify_code: int | None) -> str:
    """A code for why a certificate did not verify (OpenSSL's ``verify_code``)."""
    return _VERIFY_CODES.get(verify_code or 0, "not_verified")
