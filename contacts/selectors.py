"""Reads of contacts: a contact as rules, templates and the engine see it, and the members of a segment."""

from __future__ import annotations

from typing import Any

from contacts.models import Contact, Segment
from workflows.engine.conditions import ConditionError, evaluate


def contact_as_data(contact: Contact) -> dict[str, Any]:
    """Return the contact as rules, templates and the engine see it (CONTRACT §7 `contact`)."""
    return {
        "id": str(contact.id),
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "timezone": contact.timezone,
        "status": contact.status,
        "score": contact.score,
        "fields": contact.fields,
        "tags": list(contact.tags),
        "external_id": contact.external_id,
        "created_at": contact.created_at.isoformat() if contact.created_at else None,
    }


def segment_contacts(*, segment: Segment, chunk_size: int = 2000):
    """Return the contacts of the segment's workspace that its rule matches, as a queryset.

    The rule is evaluated with the engine's JsonLogic evaluator over each contact, in chunks; a contact whose
    evaluation errors is not a member.
    """
    matching = []
    contacts = Contact.objects.for_workspace(segment.workspace).order_by("pk")
    for contact in contacts.iterator(chunk_size=chunk_size):
        try:
            if evaluate(segment.rule, {"contact": contact_as_data(contact)}):
                matching.append(contact.pk)
        except ConditionError:
            continue
    return Contact.objects.for_workspace(segment.workspace).filter(pk__in=matching)
