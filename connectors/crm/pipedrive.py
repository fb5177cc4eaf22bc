"""Pipedrive API v1: persons and deals (`/v1/persons`, `/v1/deals`; updates are PUTs), a person found by email
through `/v1/persons/search`, and the changes its webhooks (v1 payloads) report. The API token goes in the
`api_token` query parameter, as Pipedrive asks. `settings.company_domain` (the `<company>` of
`<company>.pipedrive.com`) lets records' URLs be given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.crm.protocol import CrmChange, CrmRecord, Transport

__all__ = ["Pipedrive"]

_PATHS = {"contact": "persons", "deal": "deals"}
_APP_PATHS = {"contact": "person", "deal": "deal"}


class Pipedrive:
    def __init__(self, transport: Transport, *, settings: Mapping[str, Any]) -> None:
        self.transport, self.company = transport, str(settings.get("company_domain") or "")

    def _record(self, object_name: str, record_id: object) -> CrmRecord:
        url = f"https://{self.company}.pipedrive.com/{_APP_PATHS[object_name]}/{record_id}" if self.company else None
        return CrmRecord(id=str(record_id), url=url)

    def create(self, *, object: str, fields: Mapping[str, str], idempotency_key: str) -> CrmRecord:
        answer = self.transport.call("POST", f"/v1/{_PATHS[object]}", body=dict(fields),
                                     idempotency_key=idempotency_key)
        return self._record(object, answer["data"]["id"])

    def update(self, *, object: str, record_id: str, fields: Mapping[str, str], idempotency_key: str) -> CrmRecord:
        answer = self.transport.call("PUT", f"/v1/{_PATHS[object]}/{record_id}", body=dict(fields),
                                     idempotency_key=idempotency_key)
        return self._record(object, ((answer or {}).get("data") or {}).get("id", record_id))

    def contact_by_email(self, email: str) -> CrmRecord | None:
        answer = self.transport.call("GET", "/v1/persons/search",
                                     query={"term": email, "fields": "email", "exact_match": "true", "limit": "1"})
        items = (((answer or {}).get("data") or {}).get("items")) or []
        return self._record("contact", items[0]["item"]["id"]) if items else None

    # --- changes reported by webhooks ---------------------------------------------------------------------------

    def changes_of(self, payload: Mapping[str, Any]) -> list[CrmChange]:
        """The change of one webhook delivery (v1: `event`, `current`, `previous`, `meta`)."""
        meta, current = payload.get("meta") or {}, payload.get("current") or {}
        previous = payload.get("previous") or {}
        # The delivery's time, and the record's own update time: a change is told from the next one even when a
        # delivery lacks one of them.
        key = (f"pipedrive:{meta.get('object')}:{meta.get('id')}:{meta.get('timestamp')}:"
               f"{current.get('update_time')}")
        if payload.get("event") == "updated.deal" and previous.get("stage_id") not in (None, current.get("stage_id")):
            email = self._person_email(current.get("person_id"))
            if not email:
                return []
            return [CrmChange("crm.deal_stage_changed", email, f"{key}:stage:{current.get('stage_id')}", {
                "crm": "pipedrive", "deal_id": str(current.get("id")), "deal_name": current.get("title"),
                "stage": str(current.get("stage_id")), "previous_stage": str(previous.get("stage_id")),
                "url": self._record("deal", current.get("id")).url})]
        if payload.get("event") in ("updated.person", "added.person"):
            email = _primary_email(current.get("email"))
            changed = {name: value for name, value in current.items()
                       if name in previous and previous.get(name) != value}
            if email:
                return [CrmChange("crm.contact_updated", email, key, {
                    "crm": "pipedrive", "record_id": str(current.get("id")), "changes": changed,
                    "url": self._record("contact", current.get("id")).url})]
        return []

    def _person_email(self, person: Any) -> str | None:
        if isinstance(person, Mapping):  # some accounts send the person expanded
            return _primary_email(person.get("email")) or self._person_email(person.get("value"))
        if not person:
            return None
        answer = self.transport.call("GET", f"/v1/persons/{person}")
        return _primary_email(((answer or {}).get("data") or {}).get("email"))


def _primary_email(emails: Any) -> str | None:
    if isinstance(emails, str):
        return emails or None
    if not isinstance(emails, list):
        return None
    ranked = sorted((item for item in emails if isinstance(item, Mapping) and item.get("value")),
                    key=lambda item: not item.get("primary"))
    return ranked[0]["value"] if ranked else None
