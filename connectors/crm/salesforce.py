"""Salesforce REST API: Contact and Opportunity sObjects (`/services/data/vXX.X/sobjects/...`; updates are
PATCHes by id), a contact found by email through SOQL (`/query`), and, since Salesforce has no webhooks a
connector can subscribe to with a token alone, its changes read by polling with a cursor (`changes_since`).

The secret is an OAuth access token (`Authorization: Bearer`); `base_url` is the organisation's instance URL.
`settings.api_version` picks the API version (v59.0 when not set). Records' URLs are the Lightning ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from connectors.crm.protocol import CrmChange, CrmRecord, Transport

__all__ = ["Salesforce"]

DEFAULT_API_VERSION = "v59.0"
_SOBJECTS = {"contact": "Contact", "deal": "Opportunity"}
POLL_LIMIT = 200


class Salesforce:
    def __init__(self, transport: Transport, *, settings: Mapping[str, Any]) -> None:
        self.transport = transport
        self.data = f"/services/data/{settings.get('api_version') or DEFAULT_API_VERSION}"

    def _record(self, object_name: str, record_id: object) -> CrmRecord:
        sobject = _SOBJECTS[object_name]
        return CrmRecord(id=str(record_id), url=f"{self.transport.base_url}/lightning/r/{sobject}/{record_id}/view")

    def create(self, *, object: str, fields: Mapping[str, str], idempotency_key: str) -> CrmRecord:
        answer = self.transport.call("POST", f"{self.data}/sobjects/{_SOBJECTS[object]}/", body=dict(fields),
                                     idempotency_key=idempotency_key)
        return self._record(object, answer["id"])

    def update(self, *, object: str, record_id: str, fields: Mapping[str, str], idempotency_key: str) -> CrmRecord:
        # Salesforce answers 204 without a body: the record is the one addressed.
        self.transport.call("PATCH", f"{self.data}/sobjects/{_SOBJECTS[object]}/{quote(record_id, safe='')}",
                            body=dict(fields), idempotency_key=idempotency_key)
        return self._record(object, record_id)

    def contact_by_email(self, email: str) -> CrmRecord | None:
        records = self._query(f"SELECT Id FROM Contact WHERE Email = '{_soql_text(email)}' LIMIT 1")
        return self._record("contact", records[0]["Id"]) if records else None

    def _query(self, soql: str) -> list[dict[str, Any]]:
        answer = self.transport.call("GET", f"{self.data}/query", query={"q": soql})
        return list((answer or {}).get("records") or [])

    # --- changes, by polling --------------------------------------------------------------------------------------

    def changes_since(self, cursor: Mapping[str, Any], *, now: datetime) -> tuple[list[CrmChange], dict[str, Any]]:
        """The stage changes of opportunities (their field history) and the contacts modified since the cursor,
        oldest first, at most POLL_LIMIT of each; and the cursor after them. A first poll only sets the cursor
        to ``now``: what happened before the connector existed is not replayed."""
        start = _soql_datetime(now)
        if not cursor:
            return [], {"stages_after": start, "contacts_after": start}
        stage_rows = self._query(
            "SELECT Id, OpportunityId, Opportunity.Name, Opportunity.Contact.Email, OldValue, NewValue, CreatedDate "
            f"FROM OpportunityFieldHistory WHERE Field = 'StageName' AND CreatedDate > {cursor['stages_after']} "
            f"ORDER BY CreatedDate LIMIT {POLL_LIMIT}")
        contact_rows = self._query(
            f"SELECT Id, Email, LastModifiedDate FROM Contact WHERE LastModifiedDate > {cursor['contacts_after']} "
            f"ORDER BY LastModifiedDate LIMIT {POLL_LIMIT}")
        changes = [change for row in stage_rows if (change := self._stage_change(row))]
        changes += [CrmChange("crm.contact_updated", row["Email"], f"salesforce:contact:{row['Id']}:"
                              f"{row['LastModifiedDate']}", {"crm": "salesforce", "record_id": row["Id"],
                                                             "changes": {}, "url": self._record("contact",
                                                                                                row["Id"]).url},
                              _iso(row["LastModifiedDate"]))
                    for row in contact_rows if row.get("Email")]
        return changes, {
            "stages_after": _soql_datetime_of(stage_rows[-1]["CreatedDate"]) if stage_rows else cursor["stages_after"],
            "contacts_after": (_soql_datetime_of(contact_rows[-1]["LastModifiedDate"]) if contact_rows
                               else cursor["contacts_after"]),
        }

    def _stage_change(self, row: Mapping[str, Any]) -> CrmChange | None:
        opportunity = row.get("Opportunity") or {}
        email = (opportunity.get("Contact") or {}).get("Email")
        if not email:
            return None
        return CrmChange("crm.deal_stage_changed", email, f"salesforce:stage:{row['Id']}", {
            "crm": "salesforce", "deal_id": row["OpportunityId"], "deal_name": opportunity.get("Name"),
            "stage": row.get("NewValue"), "previous_stage": row.get("OldValue"),
            "url": self._record("deal", row["OpportunityId"]).url}, _iso(row["CreatedDate"]))


def _soql_text(value: str) -> str:
    """A string literal's content in SOQL: backslashes and quotes escaped."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _soql_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _soql_datetime_of(text: str) -> str:
    """Salesforce answers datetimes as 2026-12-03T12:00:00.000+0000; SOQL takes them as ...Z."""
    return _soql_datetime(datetime.fromisoformat(text.replace("+0000", "+00:00").replace("Z", "+00:00")))


def _iso(text: str) -> str:
    return datetime.fromisoformat(text.replace("+0000", "+00:00").replace("Z", "+00:00")).isoformat()
