"""Reads of contacts: a contact as rules, templates and the engine see it, and the members of a segment."""

from __future__ import annotations

from typing import Any

from contacts.models import Contact, Segment


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


def segment_contacts(*, segment: Segment):
    """Return the contacts of the segment, as a queryset.

    The membership table is the source of truth once it was computed in full for the segment's rule
    (`members_as_of`, set by `contacts.segments.segment_members_rebuild`); before that, the rule itself selects
    them (compiled to SQL where it compiles, evaluated in Python otherwise).
    """
    contacts = Contact.objects.for_workspace(segment.workspace_id)
    if segment.members_as_of is not None:
        return contacts.filter(segment_memberships__segment=segment)
    from contacts.segments import rule_members  # segments imports this module (contact_as_data)

    return contacts.filter(pk__in=list(rule_members(workspace_id=segment.workspace_id, rule=segment.rule)))
