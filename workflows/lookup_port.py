"""The lookup node's live port: the workspace's own data, read as JSON for the step to map into variables.

Sources (what each answers):
- `recent_events`: the contact's latest events, newest first, of the type in `key` when given (at most 20):
  `{count, events: [{type, properties, occurred_at}], last}` (`last` is null when there are none).
- `campaigns`: the contact's campaign memberships, newest first (at most 50):
  `{count, ids, campaigns: [{id, name, status, membership, joined_at}]}`.
- `contact`: another contact of the workspace, by the email that `key` renders to (Liquid against this contact):
  `{found, contact}` (`contact` as rules see one, null when none has that email).

Every read is scoped to the workspace of the enrollment: another workspace's data is never found.
"""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Lower
from liquid.exceptions import LiquidError

from campaigns.models import CampaignMember
from contacts.models import Contact
from contacts.selectors import contact_as_data
from events.selectors import contact_recent_events
from templates.rendering import text_template
from workflows.engine.ports import LookupAnswer, PortError

__all__ = ["LiveLookup"]

MAX_EVENTS = 20
MAX_CAMPAIGNS = 50


class LiveLookup:
    """The `lookup` port of live steps (reads only: nothing here changes, so nothing needs a key)."""

    def __init__(self, book, workspace) -> None:
        self.book, self.workspace = book, workspace

    def lookup(self, *, key: str, contact_id: str, source: str, lookup_key: str | None) -> LookupAnswer:
        contact = self.book.get(contact_id)
        if source == "recent_events":
            events = contact_recent_events(workspace_id=self.workspace.pk, contact_id=contact.pk,
                                           type=(lookup_key or "").strip() or None, limit=MAX_EVENTS)
            return LookupAnswer({"count": len(events), "events": events, "last": events[0] if events else None})
        if source == "campaigns":
            return LookupAnswer(self._campaigns(contact))
        if source == "contact":
            return LookupAnswer(self._contact(key, contact, lookup_key or ""))
        raise PortError(f"Unknown lookup source {source!r}.", retryable=False)

    def _campaigns(self, contact: Contact) -> dict[str, Any]:
        memberships = (CampaignMember.objects.filter(contact=contact, campaign__workspace=self.workspace)
                       .select_related("campaign").order_by("-added_at")[:MAX_CAMPAIGNS])
        campaigns = [{"id": str(m.campaign_id), "name": m.campaign.name, "status": m.campaign.status,
                      "membership": m.status, "joined_at": m.added_at.isoformat()} for m in memberships]
        return {"count": len(campaigns), "ids": [c["id"] for c in campaigns], "campaigns": campaigns}

    def _contact(self, key: str, contact: Contact, template: str) -> dict[str, Any]:
        data = {**self.book.template_context.get(key.split(":", 1)[0], {}), "contact": contact_as_data(contact)}
        try:
            email = text_template(template).render(**data).strip() if "{" in template else template.strip()
        except LiquidError as error:
            raise PortError(f"The lookup's key could not be rendered: {error.message}", retryable=False) from error
        if not email:
            return {"found": False, "contact": None}
        # lower(email) as the unique (lower(email), workspace) index has it, so the read is one index descent.
        other = (Contact.objects.for_workspace(self.workspace).annotate(email_lower=Lower("email"))
                 .filter(email_lower=email.lower()).first())
        return {"found": other is not None, "contact": contact_as_data(other) if other is not None else None}
