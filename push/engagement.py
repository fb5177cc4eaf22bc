"""What recipients do with notifications, seen by our own link: a click on a notification (its signed click URL)
becomes `push.clicked`; and the website side of subscribing (the public endpoint's checks)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from django.utils import timezone

from contacts.models import Contact
from events.models import Event
from events.services import NewEvent, events_emit
from penguinflow.common.errors import DomainError, NotFound
from penguinflow.workspaces.messaging_settings import messaging_settings
from push import tracking
from push.delivery import push_event_properties
from push.models import PushMessage, PushSettings


class OriginNotAllowed(DomainError):
    status = 403
    code = "origin_not_allowed"


class IdentityRefused(DomainError):
    status = 403
    code = "identity_not_verified"


def push_click(
    *, token: str, method: str = "GET", user_agent: str = "", now: datetime | None = None
) -> str | None:
    """Record a click from a notification's token and return where it leads; None (nothing written) for an
    unknown or forged token. A HEAD (a link checker) is answered but not recorded."""
    message_id = tracking.read_click_token(token)
    if message_id is None:
        return None
    row = PushMessage.objects.select_related("workspace").filter(pk=message_id).first()
    if row is None or not row.url:
        return None
    if method != "HEAD":
        events_emit(workspace=row.workspace, events=[NewEvent(
            type="push.clicked", contact_id=row.contact_id, occurred_at=now or timezone.now(),
            properties=push_event_properties(row, url=row.url, user_agent=user_agent[:300]),
            source=Event.Source.TRACKING)])  # fmt: skip
    return row.url


def site_settings(site_key: str) -> PushSettings:
    found = (
        PushSettings.objects.select_related("workspace").filter(site_key=site_key).first()
        if site_key
        else None
    )
    if found is None:
        raise NotFound("No site has this key.")
    return found


def origin_check(push_settings: PushSettings, origin: str | None) -> str:
    """Return the request's Origin if the workspace lets pages of it subscribe (its setting `push_origins`);
    OriginNotAllowed (403) if not, or if the request names none."""
    allowed = {
        value.lower().rstrip("/") for value in messaging_settings(push_settings.workspace).push_origins
    }
    if not origin or origin.lower() not in allowed:
        raise OriginNotAllowed(
            "This page's origin may not subscribe: add it to the workspace's settings (push_origins).",
            details={"origin": origin or "(none sent)"},
        )
    return origin


def identity_signature(secret: str, email: str) -> str:
    """hex(HMAC-SHA256(secret, lower-cased email)): what the site's backend computes for a signed-in visitor."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def visitor_contact(push_settings: PushSettings, *, email: str, signature: str) -> Contact:
    """The contact the site vouches for: the signature must be the identity secret's for this address (so no page
    can attach its browser to somebody else), and the contact must exist in the workspace."""
    expected = identity_signature(push_settings.identity_secret, email)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise IdentityRefused(
            "The signature does not match this address: compute it on your server with the "
            "workspace's identity secret.",
            details={"signature": "Does not match the email."},
        )
    contact = (
        Contact.objects.for_workspace(push_settings.workspace).filter(email__iexact=email.strip()).first()
    )
    if contact is None:
        raise NotFound(
            "No contact has this address: create the contact first (POST /api/v1/contacts).",
            code="contact_not_found",
        )
    return contact
