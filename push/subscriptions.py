"""Storing and removing a contact's browsers (push subscriptions), and the count of them that consent reads.

`Contact.channels["push"]["devices"]` is the number of the contact's live subscriptions; it is written under the
contact's row lock whenever one is stored or removed, so `contacts.consent.reachability` can answer from the
contact alone (contacts never imports push). Storing a subscription records push consent as subscribed: the
browser's permission prompt is the opt-in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts import consent
from contacts.models import Contact
from push.endpoints import endpoint_check, keys_check
from push.models import PushSubscription

SUBSCRIBED = "subscribed"
# A person has a few browsers; a script posting subscriptions for one contact would otherwise make every push to
# that contact fan out without end. Past this, storing a browser lets go of the contact's least recently stored.
PUSH_MAX_DEVICES_PER_CONTACT = 20


def subscription_store(
    *,
    workspace,
    contact: Contact,
    endpoint: str,
    p256dh: str,
    auth: str,
    source: str = "api",
    user_agent: str = "",
    proof: dict[str, Any] | None = None,
) -> tuple[PushSubscription, bool]:
    """Store a browser's subscription for `contact`; return (subscription, created).

    The same endpoint stored again updates its keys; stored for another contact of the workspace, it moves (the
    browser is now someone else's). Raises InvalidInput (400) for bad keys or an endpoint that may not be called.
    """
    endpoint_check(endpoint)
    keys_check(p256dh=p256dh, auth=auth)
    for _ in range(3):  # a concurrent store of the same new endpoint: the second finds it on its next turn
        try:
            with transaction.atomic():
                return _store(
                    workspace=workspace,
                    contact=contact,
                    endpoint=endpoint,
                    p256dh=p256dh.strip(),
                    auth=auth.strip(),
                    source=source,
                    user_agent=user_agent[:500],
                    proof=proof or {},
                )
        except IntegrityError:
            continue
    raise IntegrityError("push subscription kept conflicting")  # pragma: no cover


def _store(
    *, workspace, contact, endpoint, p256dh, auth, source, user_agent, proof
) -> tuple[PushSubscription, bool]:
    before = (
        PushSubscription.objects.filter(workspace=workspace, endpoint=endpoint)
        .values_list("contact_id", flat=True)
        .first()
    )
    # Contacts first, in id order (as the runtime's batches lock them), then the subscription.
    locked = _lock_contacts({contact.pk, before} - {None})
    row = PushSubscription.objects.select_for_update().filter(workspace=workspace, endpoint=endpoint).first()
    if row is not None and row.contact_id not in locked:
        raise IntegrityError("the subscription moved meanwhile")  # lock the new owner too: try again
    created = row is None
    moved_from = None if row is None or row.contact_id == contact.pk else row.contact_id
    if row is None:
        row = PushSubscription.objects.create(
            workspace=workspace,
            contact_id=contact.pk,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            source=source,
            user_agent=user_agent,
        )
    else:
        row.contact_id, row.p256dh, row.auth, row.source = contact.pk, p256dh, auth, source
        row.user_agent = user_agent or row.user_agent
        row.save(update_fields=["contact", "p256dh", "auth", "source", "user_agent", "updated_at"])
    owner = locked[contact.pk]
    if created or moved_from is not None:
        _opt_in(owner, endpoint=endpoint, source=source, user_agent=user_agent, proof=proof)
        _oldest_let_go(owner)
    devices_recount(owner)
    if moved_from is not None:
        devices_recount(locked[moved_from])
    return row, created


def subscription_remove(*, subscription_id, reason: str = "removed") -> bool:
    """Remove a subscription (the push service said it expired, or the browser unsubscribed); return whether it
    was there. Push consent stays as it was: with no browser left the contact cannot be reached anyway."""
    with transaction.atomic():
        owner = (
            PushSubscription.objects.filter(pk=subscription_id).values_list("contact_id", flat=True).first()
        )
        if owner is None:
            return False
        locked = _lock_contacts({owner})
        deleted, _ = PushSubscription.objects.filter(pk=subscription_id, contact_id=owner).delete()
        if deleted and owner in locked:
            devices_recount(locked[owner])
        return bool(deleted)


def _oldest_let_go(contact: Contact) -> None:
    """Keep the contact's PUSH_MAX_DEVICES_PER_CONTACT most recently stored browsers. Caller holds its row lock."""
    kept = PushSubscription.objects.filter(contact_id=contact.pk).order_by("-updated_at", "-id")
    beyond = kept.values_list("pk", flat=True)[PUSH_MAX_DEVICES_PER_CONTACT:]
    PushSubscription.objects.filter(pk__in=list(beyond)).delete()


def _lock_contacts(ids: set) -> dict:
    rows = Contact.objects.select_for_update().filter(pk__in=sorted(ids, key=str)).order_by("pk")
    return {row.pk: row for row in rows}


def _opt_in(contact: Contact, *, endpoint: str, source: str, user_agent: str, proof: dict) -> None:
    entry = (contact.channels or {}).get("push") or {}
    if entry.get("status") == SUBSCRIBED:
        return
    parts = urlsplit(endpoint)
    consent.consent_set(contact=contact, channel="push", status=SUBSCRIBED, source="push_subscription", proof={
        "via": source, "push_service": f"{parts.scheme}://{parts.netloc}", "user_agent": user_agent,
        "at": timezone.now().isoformat(), **proof,
    })  # fmt: skip
    contact.refresh_from_db(fields=["channels"])


def devices_recount(contact: Contact) -> int:
    """Write the number of the contact's subscriptions into `channels["push"]["devices"]`. Caller holds the
    contact's row lock."""
    count = PushSubscription.objects.filter(contact_id=contact.pk).count()
    channels = dict(contact.channels or {})
    entry = dict(channels.get("push") or {})
    if entry.get("devices") != count:
        entry["devices"] = count
        channels["push"] = entry
        contact.channels = channels
        Contact.objects.filter(pk=contact.pk).update(channels=channels, updated_at=timezone.now())
    return count
