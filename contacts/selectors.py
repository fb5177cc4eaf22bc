"""Reads of contacts: a contact as rules, templates and the engine see it."""

from __future__ import annotations

from typing import Any

from contacts.models import Contact


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
