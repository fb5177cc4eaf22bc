"""Writes to contacts. Each change emits its CONTRACT §3 event in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from contacts.consent import consent_set
from contacts.models import Contact, Suppression, email_hash
from contacts.segments import segments_refresh
from events.models import Event
from events.services import NewEvent, event_emit, events_emit
from penguinflow.common.errors import Conflict, InvalidInput

# Contact attributes that `contact_update` may change, and that `contact.updated` reports. Consent per channel
# (`channels`) changes through contacts.consent, which keeps its proof.
UPDATABLE_FIELDS = ("email", "first_name", "last_name", "timezone", "status", "score", "fields", "external_id",
                    "phone", "preferred_channel", "topic_opt_outs")


def _normalise_tags(tags: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def _conflict_from(error: IntegrityError) -> Conflict:
    text = str(error)
    if "external_id" in text:
        return Conflict("A contact with this external_id already exists.", details={"external_id": "Already in use."})
    return Conflict("A contact with this email already exists.", details={"email": "Already in use."})


@transaction.atomic
def contact_create(
    *,
    workspace,
    email: str,
    first_name: str = "",
    last_name: str = "",
    timezone: str = "",
    status: str = Contact.Status.SUBSCRIBED,
    score: int = 0,
    fields: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    external_id: str | None = None,
    phone: str = "",
    preferred_channel: str = "",
    topic_opt_outs: Iterable[str] = (),
    channels: Mapping[str, Mapping[str, Any]] | None = None,
    source: str = Event.Source.SYSTEM,
) -> Contact:
    """Create a contact; 409 (Conflict) when the email or external_id is already used in the workspace.

    `channels` is consent to record with it, `{"sms": {"status": "subscribed", "proof": {...}}}` (see
    contacts.consent.consent_set)."""
    contact = Contact(
        workspace=workspace,
        email=email.strip().lower(),
        first_name=first_name,
        last_name=last_name,
        timezone=timezone,
        status=status,
        score=score,
        fields=dict(fields or {}),
        tags=_normalise_tags(tags),
        external_id=external_id or None,
        phone=phone,
        preferred_channel=preferred_channel,
        topic_opt_outs=_normalise_tags(topic_opt_outs),
    )
    try:
        with transaction.atomic():
            contact.save(force_insert=True)
    except IntegrityError as error:
        raise _conflict_from(error) from error
    new_events = [NewEvent(type="contact.created", contact_id=contact.id, properties={}, source=source)]
    new_events += [
        NewEvent(type="contact.tagged", contact_id=contact.id, properties={"tag": tag}, source=source)
        for tag in contact.tags
    ]
    events_emit(workspace=workspace, events=new_events)
    contact = _consents_record(contact, channels, source=source)
    segments_refresh(workspace=workspace, contact_ids=[contact.id])
    return contact


def _consents_record(contact: Contact, channels: Mapping[str, Mapping[str, Any]] | None, *, source: str) -> Contact:
    """Record the consent changes given with a create or an update (`channels` of the API)."""
    for channel, change in (channels or {}).items():
        contact = consent_set(contact=contact, channel=channel, status=change["status"],
                              source=change.get("source") or source, proof=change.get("proof"),
                              event_source=source)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, changes: Mapping[str, Any], source: str = Event.Source.SYSTEM) -> Contact:
    """Apply `changes` (a subset of UPDATABLE_FIELDS, plus `tags`) and emit `contact.updated` with old/new values."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if name in ("tags", "channels"):
            continue
        if name not in UPDATABLE_FIELDS:
            raise ValueError(f"{name} cannot be updated through contact_update")
        if name == "email":
            value = value.strip().lower()
        if name == "external_id":
            value = value or None
        if name == "topic_opt_outs":
            value = _normalise_tags(value)
        old = getattr(contact, name)
        if old != value:
            diff[name] = [old, value]
            setattr(contact, name, value)
    if diff:
        try:
            with transaction.atomic():
                contact.save()
        except IntegrityError as error:
            raise _conflict_from(error) from error
        event_emit(
            workspace=contact.workspace,
            type="contact.updated",
            contact_id=contact.id,
            properties={"changes": diff},
            source=source,
        )
        segments_refresh(workspace=contact.workspace, contact_ids=[contact.id])
    contact = _consents_record(contact, changes.get("channels"), source=source)
    if "tags" in changes:
        wanted = _normalise_tags(changes["tags"])
        contact = contact_tags_change(
            contact=contact,
            add=[tag for tag in wanted if tag not in contact.tags],
            remove=[tag for tag in contact.tags if tag not in wanted],
            source=source,
        )
    return contact


@transaction.atomic
def contact_tags_change(
    *, contact: Contact, add: Iterable[str] = (), remove: Iterable[str] = (), source: str = Event.Source.SYSTEM
) -> Contact:
    """Add and remove tags; emit one `contact.tagged` / `contact.untagged` per tag that really changed."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    add, remove = _normalise_tags(add), set(_normalise_tags(remove))
    before = list(contact.tags)
    after = [tag for tag in before if tag not in remove]
    after += [tag for tag in add if tag not in after and tag not in remove]
    added = [tag for tag in after if tag not in before]
    removed = [tag for tag in before if tag not in after]
    if added or removed:
        contact.tags = after
        contact.save(update_fields=["tags", "updated_at"])
        events_emit(
            workspace=contact.workspace,
            events=[NewEvent(type="contact.tagged", contact_id=contact.id, properties={"tag": t}, source=source)
                    for t in added]
            + [NewEvent(type="contact.untagged", contact_id=contact.id, properties={"tag": t}, source=source)
               for t in removed],
        )
        segments_refresh(workspace=contact.workspace, contact_ids=[contact.id])
    return contact


MAX_FIELDS_BYTES = 32 * 1024
SCORE_RANGE = (-(2**31), 2**31 - 1)


@transaction.atomic
def contact_find_or_create(*, workspace, email: str, source: str = Event.Source.SYSTEM, **attributes: Any
                           ) -> tuple[Contact, bool]:
    """Return the workspace's contact with this email unchanged, or create it with `attributes` (as
    `contact_create`); the bool says whether it was created. Two callers at once get the same contact."""
    email = email.strip().lower()
    existing = Contact.objects.for_workspace(workspace).filter(email=email).first()
    if existing is not None:
        return existing, False
    try:
        return contact_create(workspace=workspace, email=email, source=source, **attributes), True
    except Conflict:
        # Created meanwhile by a concurrent call (its commit is visible now), or the external_id is taken.
        existing = Contact.objects.for_workspace(workspace).filter(email=email).first()
        if existing is None:
            raise
        return existing, False


@transaction.atomic
def contact_field_set(*, contact: Contact, field: str, value: Any, source: str = Event.Source.SYSTEM) -> Contact:
    """Set one custom field (`fields[field]`), or remove it when `value` is None; emits `contact.updated`."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    fields = dict(contact.fields)
    if value is None:
        fields.pop(field, None)
    else:
        fields[field] = value
    if len(json.dumps(fields, separators=(",", ":"))) > MAX_FIELDS_BYTES:
        raise InvalidInput("The contact's fields would be over 32 KiB.",
                           details={"value": f"The fields must stay under {MAX_FIELDS_BYTES} bytes."})
    return contact_update(contact=contact, changes={"fields": fields}, source=source)


@transaction.atomic
def contact_score_change(*, contact: Contact, delta: int | None = None, set_to: int | None = None,
                         source: str = Event.Source.SYSTEM) -> Contact:
    """Add `delta` to the score, or set it to `set_to` (kept within a 32-bit integer); emits `contact.updated`."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    new = set_to if set_to is not None else contact.score + (delta or 0)
    new = max(SCORE_RANGE[0], min(SCORE_RANGE[1], new))
    return contact_update(contact=contact, changes={"score": new}, source=source)


def contact_unsubscribe(*, contact: Contact, source: str = Event.Source.SYSTEM) -> Contact:
    """Unsubscribe the contact (status `unsubscribed`; nothing happens if it already is)."""
    return contact_update(contact=contact, changes={"status": Contact.Status.UNSUBSCRIBED}, source=source)


@transaction.atomic
def suppression_add(*, workspace, email: str, reason: str, note: str = "") -> Suppression:
    """Suppress an address (idempotent): the first reason recorded is kept."""
    suppression, _ = Suppression.objects.get_or_create(
        workspace=workspace, email_hash=email_hash(email), defaults={"reason": reason, "note": note}
    )
    return suppression


def is_suppressed(*, workspace, email: str) -> bool:
    return Suppression.objects.filter(workspace=workspace, email_hash=email_hash(email)).exists()


@transaction.atomic
def contact_erase(*, contact: Contact) -> None:
    """Erase a person: their events, enrollments and PII go; a hashed suppression entry stays.

    The suppression entry is what keeps a later re-import of the same address from being mailed.
    """
    suppression_add(workspace=contact.workspace, email=contact.email, reason=Suppression.Reason.ERASED)
    Event.objects.filter(workspace=contact.workspace, contact_id=contact.id).delete()
    contact.delete()


def contacts_matching_query(queryset, text: str):
    text = text.strip()
    return queryset.filter(
        Q(email__icontains=text) | Q(first_name__icontains=text) | Q(last_name__icontains=text)
        | Q(external_id=text)
    )
