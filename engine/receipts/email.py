"""Receipts by e-mail: a plain-text body, an HTML alternative and the QR code inline, over SMTP.

The plain text is exactly the paper receipt (:func:`render_lines`), so what a
patron prints from their inbox matches the kiosk's slip; the HTML part only
adds the QR code, as an inline image rather than a remote URL, which mail
clients block.

A patron's address is theirs, not ours: it is never logged in full
(``n***@example.com``), and an SMTP server's error, which often repeats it, is
scrubbed before it reaches a log or a :class:`ReceiptDeliveryError`. Exactly
one recipient is ever passed to the server, whatever the patron typed, so
the kiosk cannot be used to mail a list of strangers.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.receipts.model import Language, Receipt, ReceiptDeliveryError
from engine.receipts.qr import qr_code, qr_png
from engine.receipts.templates import clean, kind_title, render_lines, text

if TYPE_CHECKING:
    from email.message import EmailMessage

# smtplib, ssl and the email package are imported where a receipt is mailed: a kiosk
# imports this module for its settings, and most never mail one (issue 15).

log = logging.getLogger(__name__)

QR_SCALE = 4
"""Pixels per QR module in the e-mail: big enough to scan off a phone held up to another screen."""
_CID_DOMAIN = "receipt.muontra"


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """How the kiosk reaches its mail server.

    ``tls`` is SMTP over TLS from the first byte (port 465); otherwise
    ``starttls`` upgrades a plain connection (port 587) and the receipt is not
    sent at all when the server does not offer it: a patron's loans do not
    cross the network in clear because a server was misconfigured. ``cafile``
    is for servers with a certificate from the library's own authority.
    """

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    tls: bool = False
    timeout: float = 10
    cafile: str | None = None

    def __post_init__(self) -> None:
        # smtplib sends AUTH credentials as ASCII only; better refused when the
        # configuration is read than at a patron's first receipt.
        for name, value in (("username", self.username), ("password", self.password)):
            if value is not None and not value.isascii():
                raise ValueError(f"the SMTP {name} must be ASCII (smtplib cannot send others)")


def mask_address(address: str) -> str:
    """``n***@example.com``: enough for staff to tell two addresses apart, not to write to one."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def build_message(receipt: Receipt, to: str) -> EmailMessage:
    """The receipt as an e-mail to ``to``, without From: :func:`send_receipt` adds the sender.

    Raises ReceiptDeliveryError when ``to`` is not one plausible address.
    """
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    address = _checked_address(to, receipt.language)
    lang = receipt.language
    subject = text(lang, "subject", kind=kind_title(receipt), library=clean(receipt.library_name))
    lines = render_lines(receipt)
    message = EmailMessage()
    message["Subject"] = subject
    message["To"] = address
    message["Date"] = formatdate(localtime=True)
    # RFC 3834: out-of-office robots must not answer a machine.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(lines) + "\n", charset="utf-8")

    cid = make_msgid("qr", domain=_CID_DOMAIN)
    message.add_alternative(_html(receipt, subject, lines, cid), subtype="html", charset="utf-8")
    html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
    html_part.add_related(
        qr_png(receipt, scale=QR_SCALE),
        maintype="image",
        subtype="png",
        cid=cid,
        disposition="inline",
        filename="receipt-qr.png",
    )
    # Last: set_content and add_alternative move Content-* headers to the parts.
    message["Content-Language"] = lang
    return message


def send_receipt(settings: EmailSettings, receipt: Receipt, to: str) -> None:
    """Send the receipt, or raise ReceiptDeliveryError with a message the patron can read."""
    import smtplib
    from email.utils import make_msgid

    message = build_message(receipt, to)
    address = str(message["To"])
    masked = mask_address(address)
    message["From"] = settings.sender
    message["Message-ID"] = make_msgid(domain=_domain_of(settings.sender))
    try:
        _deliver(settings, message, address)
    except (smtplib.SMTPException, OSError) as error:
        detail = _scrub(_describe(error), address)
        log.warning(
            "receipt %s not e-mailed to %s via %s:%d: %s",
            receipt.transaction_id,
            masked,
            settings.host,
            settings.port,
            detail,
        )
        raise ReceiptDeliveryError(
            text(receipt.language, "error_email"), channel="email", detail=detail
        ) from None
    log.info("receipt %s e-mailed to %s", receipt.transaction_id, masked)


def _deliver(settings: EmailSettings, message: EmailMessage, address: str) -> None:
    import smtplib
    import ssl

    context = ssl.create_default_context(cafile=settings.cafile)
    client: smtplib.SMTP
    if settings.tls:
        client = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        if settings.starttls and not settings.tls:
            # Raises SMTPNotSupportedError when not offered: never fall back to clear text.
            client.starttls(context=context)
        if settings.username:
            if not (settings.tls or settings.starttls):
                log.warning(
                    "logging in to %s without TLS: the password crosses in clear", settings.host
                )
            client.login(settings.username, settings.password or "")
        client.send_message(message, from_addr=settings.sender, to_addrs=[address])


def _checked_address(to: str, language: Language) -> str:
    """``to`` as one bare address, or ReceiptDeliveryError saying it does not look right."""
    from email.errors import HeaderParseError
    from email.headerregistry import Address

    candidate = unicodedata.normalize("NFC", to.strip())
    try:
        if not candidate or len(candidate) > 254 or any(c.isspace() for c in candidate):
            raise ValueError("empty, too long or with spaces")
        parsed = Address(addr_spec=candidate)
        if not parsed.username or "." not in parsed.domain.strip("."):
            raise ValueError("no user or no domain")
    except (ValueError, IndexError, HeaderParseError) as error:
        log.info(
            "receipt e-mail address refused (%s): %s", type(error).__name__, mask_address(candidate)
        )
        raise ReceiptDeliveryError(
            text(language, "error_address"), channel="email", detail="invalid address"
        ) from None
    return parsed.addr_spec


def _html(receipt: Receipt, subject: str, lines: list[str], cid: str) -> str:
    size = qr_code(receipt).symbol_size(scale=QR_SCALE)[0]
    body = html.escape("\n".join(lines))
    alt = html.escape(text(receipt.language, "qr_alt"), quote=True)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{receipt.language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n<body>\n"
        '<pre style="font-family: monospace; font-size: 14px; white-space: pre-wrap;">'
        f"{body}</pre>\n"
        f'<p><img src="cid:{cid[1:-1]}" alt="{alt}" width="{size}" height="{size}"></p>\n'
        "</body></html>\n"
    )


def _domain_of(sender: str) -> str:
    domain = sender.strip().rstrip(">").rpartition("@")[2]
    return domain or _CID_DOMAIN


def _describe(error: BaseException) -> str:
    """What went wrong, for staff: the exception's kind and the server's own code and words."""
    import smtplib

    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = [
            f"{code} {reply.decode('utf-8', 'replace')}"
            for code, reply in error.recipients.values()
        ]
        return f"recipient refused: {'; '.join(answers)}"
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        words = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"{type(error).__name__}: {error.smtp_code} {words}"
    return f"{type(error).__name__}: {error}"


def _scrub(detail: str, address: str) -> str:
    """``detail`` with the patron's address masked and on one line."""
    masked = re.sub(re.escape(address), mask_address(address), detail, flags=re.IGNORECASE)
    return " ".join(masked.split())
