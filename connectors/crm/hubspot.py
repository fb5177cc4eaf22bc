"""HubSpot CRM v3: contacts and deals (`/crm/v3/objects/{contacts,deals}`), a contact found by email through the
search endpoint, and the changes its webhooks report (signed with the v3 signature, `connectors.crm.signatures`).

A private app's access token is the connector's secret (`Authorization: Bearer`). HubSpot keeps one contact per
email: creating one that exists answers 409 "Contact already exists. Existing ID: <id>", and the create then
updates that contact, so a step run again after a crash changes the same contact instead of failing.
`settings.portal_id` (the HubSpot account's id) lets records' URLs be given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.crm.protocol import CrmChange, CrmRecord, CrmRejected, Transport

__all__ = ["HubSpot"]

_PLURAL = {"contact": "contacts", "deal": "deals"}
_OBJECT_TYPE_ID = {"contact": "0-1", "deal": "0-3"}  # in the app's record URLs
_EXISTING = re.compile(r"Existing ID:\s*(\d+)")


class HubSpot:
    def __init__(self, transport: Transport, *, settings: Mapping[str, Any]) -> None:
        self.transport, self.portal_id = transport, str(settings.get("portal_id") or "")

    def _record(self, object_name: str, record_id: object) -> CrmRecord:
        url = None
        if self.portal_id:
            url = (f"https://app.hubspot.com/contacts/{self.portal_id}/record/"
                   f"{_OBJECT_TYPE_ID[object_name]}/{record_id}")
        return CrmRecord(id=str(record_id), url=url)

    def create(self, *, object: str, fields: Mapping[str, str], idempotency_key: str) -> CrmRecord:
        path = f"/crm/v3/objects/{_PLURAL[object]}"
        try:
            answer = self.transport.call("POST", path, body={"properties": dict(fields)},
                                         idempotency_key=idempotency_key)
        except CrmRejected as rejected:
            existing = _EXISTING.search(str(rejected)) if object == "contact" else None
            if existing is None:
                raise
            return self.update(object=object, record_id=existing[1], fields=fields, idempotency_key=idempotency_key)
        return self._record(object, answer["id"])

    def update(self, *, object: str, record_id: str, fields: Mapping[str, str], idempotency_key: str) -> CrmRecord:
        answer = self.transport.call("PATCH", f"/crm/v3/objects/{_PLURAL[object]}/{record_id}",
                                     body={"properties": dict(fields)}, idempotency_key=idempotency_key)
        return self._record(object, (answer or {}).get("id", record_id))

    def contact_by_email(self, email: str) -> CrmRecord | None:
        answer = self.transport.call("POST", "/crm/v3/objects/contacts/search", body={
            "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}],
            "properties": ["email"], "limit": 1})
        results = (answer or {}).get("results") or []
        return self._record("contact", results[0]["id"]) if results else None

    # --- changes reported by webhooks ---------------------------------------------------------------------------

    def changes_of(self, notifications: Iterable[Mapping[str, Any]]) -> list[CrmChange]:
        """The changes in a webhook delivery (a JSON list of notifications). HubSpot's notifications carry ids,
        not emails: the contact's email is read from the CRM (a deal's first associated contact)."""
        changes = []
        for note in notifications:
            kind, prop = note.get("subscriptionType"), note.get("propertyName")
            object_id = str(note.get("objectId") or "")
            common = {"crm": "hubspot", "event_id": str(note.get("eventId") or "")}
            at = _iso(note.get("occurredAt"))
            if kind == "deal.propertyChange" and prop == "dealstage":
                email = self._deal_contact_email(object_id)
                if email:
                    changes.append(CrmChange("crm.deal_stage_changed", email, f"hubspot:{note.get('eventId')}",
                                             {**common, "deal_id": object_id, "stage": note.get("propertyValue"),
                                              "previous_stage": None, **self._url("deal", object_id)}, at))
            elif kind in ("contact.propertyChange", "contact.creation"):
                email = note.get("propertyValue") if prop == "email" else self._contact_email(object_id)
                if email:
                    changes.append(CrmChange("crm.contact_updated", email, f"hubspot:{note.get('eventId')}",
                                             {**common, "record_id": object_id,
                                              "changes": {prop: note.get("propertyValue")} if prop else {},
                                              **self._url("contact", object_id)}, at))
        return changes

    def _url(self, object_name: str, record_id: str) -> dict[str, Any]:
        return {"url": self._record(object_name, record_id).url}

    def _contact_email(self, contact_id: str) -> str | None:
        answer = self.transport.call("GET", f"/crm/v3/objects/contacts/{contact_id}", query={"properties": "email"})
        return ((answer or {}).get("properties") or {}).get("email") or None

    def _deal_contact_email(self, deal_id: str) -> str | None:
        answer = self.transport.call("GET", f"/crm/v3/objects/deals/{deal_id}", query={"associations": "contacts"})
        linked = (((answer or {}).get("associations") or {}).get("contacts") or {}).get("results") or []
        return self._contact_email(str(linked[0]["id"])) if linked else None


def _iso(milliseconds: Any) -> str | None:
    if not isinstance(milliseconds, int | float):
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).isoformat()
