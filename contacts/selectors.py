"""Reads of contacts: a contact as rules, templates and the engine see it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from django.db import connection

from contacts.models import Contact

# The columns `contact_as_data` reads: a caller loading many contacts only for it loads these (`.only(...)`),
# not the channels and the rest, and their scores with `.prefetch_related("scores")` (a table of their own).
CONTACT_DATA_FIELDS = ("id", "email", "first_name", "last_name", "timezone", "status", "score", "fields", "tags",
                       "external_id", "created_at", "interests")


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
        # Rules read scores as `contact.predictions.churn_risk.score` (null: not enough data).
        "predictions": contact.predictions or {},
        # What the contact clicks (`contacts.interests`): `contact.interests.topics[0].topic` is the top topic.
        "interests": contact.interests or {},
    }


def contacts_by_reference(*, workspace, references: Iterable[Mapping[str, str]]
                          ) -> tuple[list[Contact], list[dict[str, Any]]]:
    """Find the workspace's contacts named `{"id"}` or `{"email"}`; return them (each once) and the references
    that name no contact, each as `{contact, reason: "not_found", message}`."""
    references = list(references)
    ids, emails = set(), set()
    for reference in references:
        if reference.get("id"):
            with contextlib.suppress(ValueError):
                ids.add(UUID(str(reference["id"])))
        elif reference.get("email"):
            emails.add(reference["email"].strip().lower())
    scope = Contact.objects.for_workspace(workspace)
    found = {contact.pk: contact for contact in scope.filter(pk__in=ids)}
    found.update({contact.pk: contact for contact in scope.filter(email__in=emails)})
    known_ids = {str(pk) for pk in found}
    known_emails = {contact.email for contact in found.values()}
    missing = [
        {"contact": dict(reference), "reason": "not_found", "message": "No contact of this workspace is named so."}
        for reference in references
        if not (str(reference.get("id") or "").lower() in known_ids
                or (reference.get("email") or "").strip().lower() in known_emails)
    ]
    return list(found.values()), missing


TAGS_LISTED_AT_MOST = 1000


def tags_in_use(*, workspace) -> list[dict[str, Any]]:
    """Return the tags the workspace's contacts carry, by name, each with how many contacts carry it (at most
    TAGS_LISTED_AT_MOST of them: a dropdown's worth)."""
    # unnest() in FROM: the ORM cannot group by a set-returning function.
    sql = (f"SELECT tag, count(*) FROM {Contact._meta.db_table}, unnest(tags) AS tag "
           "WHERE workspace_id = %s GROUP BY tag ORDER BY tag LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk, TAGS_LISTED_AT_MOST])
        return [{"name": name, "contacts": count} for name, count in cursor.fetchall()]
