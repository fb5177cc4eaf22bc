"""The mechanics of handing an outbox row to the mail server: the message, the verdict on errors, the rate limit.

`templates.services.outbox_deliver` drives these; nothing here writes to the database.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Literal
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email

from penguinflow.common.errors import InvalidInput
from templates import tracking
from templates.rendering import single_line

logger = logging.getLogger(__name__)

Verdict = Literal["retry", "fail", "unknown"]


_NAME_ADDR = re.compile(r"^(.*)<([^<>]*)>\s*$", re.DOTALL)


class InvalidAddress(InvalidInput):
    """A sender or reply-to address that is not one valid address; nothing was stored or sent."""

    code = "invalid_address"


@functools.lru_cache(maxsize=4096)
def clean_address(value: str, *, field: str, name: str | None = None) -> str:
    """Return `value` as one safe `Name <addr>` header value; control characters in the name become spaces.

    Raises InvalidAddress when no single valid address remains (CR/LF can never reach a header).
    """
    value = single_line(value)
    # Parse "Name <addr>" by hand: parseaddr() reads "Acme Bcc: x@evil.test <a@acme.test>" as a group and returns
    # x@evil.test. Here the address is what is inside the last <...>, and everything before it is the name.
    match = _NAME_ADDR.match(value)
    display, addr = (match.group(1).strip().strip('"').strip(), match.group(2).strip()) if match else ("", value)
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in addr) or "," in addr:
        raise InvalidAddress(f"{field} is not a single valid address.", details={field: "Not a valid address."})
    try:
        validate_email(addr)
    except ValidationError as error:
        raise InvalidAddress(f"{field} is not a valid address.", details={field: "Not a valid address."}) from error
    display = single_line(name if name is not None else display)
    return formataddr((display, addr)) if display else addr


def message_id_domain() -> str:
    return _message_id_domain(settings.EMAIL_MESSAGE_ID_DOMAIN, settings.DEFAULT_FROM_EMAIL)


@functools.lru_cache(maxsize=8)
def _message_id_domain(configured: str, default_from: str) -> str:
    if configured:
        return configured
    _, addr = parseaddr(default_from)
    return addr.rpartition("@")[2] or "penguinflow.invalid"


def message_id_header(outbox_id) -> str:
    """Return our Message-ID for an outbox row: derived from its id, so identical on every attempt."""
    return f"<{outbox_id}@{message_id_domain()}>"


def outbox_id_from_message_id(value: str | None):
    """Return the outbox id named by one of our Message-IDs (`<uuid@domain>`), or None."""
    import uuid

    if not value:
        return None
    local = value.strip().strip("<>").partition("@")[0]
    try:
        return uuid.UUID(local)
    except ValueError:
        return None


def unsubscribe_mailbox() -> str:
    if settings.EMAIL_UNSUBSCRIBE_MAILTO:
        return settings.EMAIL_UNSUBSCRIBE_MAILTO
    _, addr = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = addr.rpartition("@")[2]
    return f"unsubscribe@{domain}" if domain else ""


def list_unsubscribe(outbox_id) -> str:
    """Return the List-Unsubscribe value: the one-click HTTPS URL, then a mailto: carrying the same token."""
    url = tracking.unsubscribe_url(outbox_id)
    mailbox = unsubscribe_mailbox()
    if not mailbox:
        return f"<{url}>"
    token = tracking.make_token(tracking.UNSUBSCRIBE, outbox_id)
    return f"<{url}>, <mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>"


def build_message(row, *, connection=None) -> EmailMultiAlternatives:
    """Return the EmailMultiAlternatives of an outbox row, with our stable Message-ID and RFC 8058 headers."""
    headers = {
        "Message-ID": row.message_id,
        "List-Unsubscribe": list_unsubscribe(row.id),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-PenguinFlow-Message": str(row.id),
    }
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.text,
        from_email=row.from_email,
        to=[row.to_email],
        reply_to=[row.reply_to] if row.reply_to else None,
        headers=headers,
        connection=connection,
    )
    if row.html:
        message.attach_alternative(row.html, "text/html")
    # Anymail echoes metadata in its webhooks: that is how an ESP event finds this row again.
    message.metadata = {"pf_message_id": str(row.id)}
    return message


def esp_message_id(message) -> str | None:
    status = getattr(message, "anymail_status", None)
    return getattr(status, "message_id", None) if status is not None else None


def verdict(error: BaseException) -> Verdict:
    """Classify a send error: `retry` (the server said no for now, or we never reached it), `fail` (it said no
    for good), `unknown` (the message may have been accepted: never re-send blindly)."""
    try:
        from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
    except ImportError:  # pragma: no cover - anymail is a dependency
        AnymailError = AnymailRecipientsRefused = AnymailRequestsAPIError = ()

    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return "retry" if codes and all(400 <= code < 500 for code in codes) else "fail"
    if isinstance(error, smtplib.SMTPResponseException):
        return "retry" if 400 <= error.smtp_code < 500 else "fail"
    if isinstance(error, (smtplib.SMTPServerDisconnected, TimeoutError, ConnectionResetError, BrokenPipeError)):
        return "unknown"
    if AnymailRecipientsRefused and isinstance(error, AnymailRecipientsRefused):
        return "fail"
    if AnymailRequestsAPIError and isinstance(error, AnymailRequestsAPIError):
        status = getattr(error, "status_code", None)
        if status is None:
            import requests

            if isinstance(error, requests.ConnectTimeout) or "NewConnectionError" in repr(error.__context__):
                return "retry"
            return "unknown"
        return "retry" if status == 429 or status >= 500 else "fail"
    if AnymailError and isinstance(error, AnymailError):
        return "fail"
    if isinstance(error, (ValueError, TypeError, UnicodeError)):
        return "fail"  # the message itself cannot be built or encoded; trying again changes nothing
    return "unknown"


def backoff(attempts: int) -> timedelta:
    """Return the wait before attempt `attempts + 1`: 30 s doubling, at most an hour, with ±20 % jitter."""
    base = min(30 * 2 ** max(0, attempts - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class RateDecision:
    allowed: int
    retry_at: datetime | None


def rate_take(*, workspace_id, limit: int, count: int, now: datetime) -> RateDecision:
    """Take up to `count` sends from the workspace's per-minute budget, shared by all workers through Redis.

    A fixed one-minute window: INCRBY is atomic, so two workers cannot both take the last slot. Losing the
    counters (a Redis flush) only forgets how many were sent this minute: no message lives here.
    """
    if limit <= 0 or count <= 0:
        return RateDecision(allowed=0 if limit <= 0 else count, retry_at=None if count <= 0 else _next_window(now))
    import django_rq

    window = int(now.timestamp() // 60)
    key = f"pf:email:rate:{workspace_id}:{window}"
    pipe = django_rq.get_connection("email").pipeline()
    pipe.incrby(key, count)
    pipe.expire(key, 120)
    total, _ = pipe.execute()
    before = int(total) - count
    allowed = max(0, min(count, limit - before))
    return RateDecision(allowed=allowed, retry_at=None if allowed == count else _next_window(now))


def _next_window(now: datetime) -> datetime:
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return start + timedelta(milliseconds=random.randint(0, 5000))
