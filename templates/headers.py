"""The headers every message carries that are ours to make safe or stable: the From and Reply-To addresses
(cleaned: one address, no control characters), our Message-ID (derived from the outbox id, so identical on every
attempt, and read back from replies and ESP events) and List-Unsubscribe (RFC 8058 one-click, and a mailto:).
"""

from __future__ import annotations

import functools
import re
import uuid
from email.utils import formataddr, parseaddr
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from penguinflow.common.errors import InvalidInput
from templates import tracking
from templates.rendering import single_line

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
    tokens = tracking.MessageTokens(outbox_id)
    token = tokens.token(tracking.UNSUBSCRIBE)
    url = tokens.unsubscribe_url(token)
    mailbox = unsubscribe_mailbox()
    if not mailbox:
        return f"<{url}>"
    return f"<{url}>, <mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>"

