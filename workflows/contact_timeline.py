"""A contact's timeline (CONTRACT §4/§9a): its events and the steps of its enrollments, merged, newest first.

A page is two index-ordered queries, each limited to the page size (+1): the contact's events (index
events_event_ws_contact_occurred: workspace, contact, occurred_at DESC) and the step runs of the contact's
enrollments (their enrollments by enrollment_contact, then their steps by steprun_enrollment_sequence: a contact's
steps are hundreds, sorted per page), merged in Python. No UNION, no scan of the contact's events per page.

Every item names its `channel` (email, sms or push; null for what is no message): an event by its type's
family (`sms.delivered`), a step by its node type's channel, or for send_message by the channel that went out.

The keyset is (at, kind, id) descending: at equal times events come before steps. A cursor is that position,
opaque to clients (base64 of JSON).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from events.models import Event
from penguinflow.common.errors import InvalidInput
from workflows.engine.caps import CHANNELS
from workflows.engine.registry import registry
from workflows.models import Enrollment, StepRun

Kind = Literal["event", "step"]
_RANK = {"event": 1, "step": 0}


@dataclass(frozen=True)
class Position:
    at: datetime
    rank: int
    tie: str  # the event's id, or the step's sequence (zero-padded: compared as text)

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), self.rank, self.tie]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Position:
        try:
            at, rank, tie = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            moment = parse_datetime(at)
            if moment is None or rank not in (0, 1) or not isinstance(tie, str):
                raise ValueError
            return cls(moment, rank, tie)
        except (ValueError, TypeError, json.JSONDecodeError):
            raise InvalidInput("The cursor is not valid: use the `next` of a previous page.",
                               details={"cursor": "Invalid cursor."}) from None


def _tie(number: int) -> str:
    return f"{number:020d}"


def _before(field: str, tie_field: str, rank: int, cursor: Position | None) -> Q:
    """Rows of one source strictly after `cursor` in the timeline's (at, rank, tie) descending order."""
    if cursor is None:
        return Q()
    if rank < cursor.rank:
        return Q(**{f"{field}__lte": cursor.at})
    if rank > cursor.rank:
        return Q(**{f"{field}__lt": cursor.at})
    # `at <= cursor` bounds the index range; the OR alone would filter the rows from the newest on.
    return Q(**{f"{field}__lte": cursor.at}) & (
        Q(**{f"{field}__lt": cursor.at}) | Q(**{field: cursor.at, f"{tie_field}__lt": int(cursor.tie)}))


def contact_timeline(*, contact, kind: Kind | None = None, workflow_id: UUID | None = None,
                     cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    """Return `{results, next}`: up to `limit` items after `cursor`, newest first."""
    position = Position.decode(cursor) if cursor else None
    items: list[tuple[Position, dict[str, Any]]] = []
    if kind in (None, "event") and workflow_id is None:
        items += _events(contact, position, limit)
    if kind in (None, "step"):
        items += _steps(contact, workflow_id, position, limit)
    items.sort(key=lambda item: (item[0].at, item[0].rank, item[0].tie), reverse=True)
    page = items[:limit]
    following = page[-1][0].encode() if len(items) > limit else None
    return {"results": [item for _, item in page], "next": following}


def _events(contact, position: Position | None, limit: int) -> list[tuple[Position, dict[str, Any]]]:
    rows = (Event.objects.filter(workspace_id=contact.workspace_id, contact_id=contact.pk)
            .filter(_before("occurred_at", "id", _RANK["event"], position))
            .order_by("-occurred_at", "-id").values_list("id", "occurred_at", "type", "properties", "source")[:limit + 1])
    return [(Position(at, _RANK["event"], _tie(pk)),
             {"at": at, "kind": "event", "type": type_, "id": str(pk), "channel": _event_channel(type_),
              "detail": {"properties": properties, "source": source}})
            for pk, at, type_, properties, source in rows]


def _steps(contact, workflow_id, position: Position | None, limit: int) -> list[tuple[Position, dict[str, Any]]]:
    enrollments = Enrollment.objects.filter(contact=contact)
    if workflow_id is not None:
        enrollments = enrollments.filter(workflow_id=workflow_id)
    # The version too, so that a client can name a step by its label in the graph it ran on.
    run_of = {pk: (workflow_id, number) for pk, workflow_id, number in
              enrollments.values_list("pk", "workflow_id", "version__number")}
    if not run_of:
        return []
    rows = (StepRun.objects.filter(enrollment_id__in=list(run_of))
            .filter(_before("started_at", "sequence", _RANK["step"], position))
            .order_by("-started_at", "-sequence")
            .values_list("id", "sequence", "enrollment_id", "started_at", "node_id", "type", "status", "attempt",
                         "branch", "detail", "error_type", "error_message")[:limit + 1])
    items = []
    for pk, sequence, enrollment_id, at, node_id, type_, status, attempt, branch, detail, error_type, message in rows:
        error = {"type": error_type, "message": message} if error_type or message else None
        workflow_id, version = run_of[enrollment_id]
        items.append((Position(at, _RANK["step"], _tie(sequence)), {
            "at": at, "kind": "step", "type": type_, "id": str(pk), "workflow": str(workflow_id),
            "version": version, "execution": str(enrollment_id), "node_id": node_id, "status": status,
            "channel": _step_channel(type_, detail),
            "detail": {**detail, "attempt": attempt, "branch": branch, "error": error},
        }))
    return items


def _event_channel(type_: str) -> str | None:
    family = type_.split(".", 1)[0]
    return family if family in CHANNELS else None


def _step_channel(type_: str, detail: dict[str, Any]) -> str | None:
    """The channel a step sends on: its node type's, or for send_message (any channel) the one that went out."""
    node_type = registry.get(type_)
    channel = node_type.channel if node_type is not None else None
    if channel in CHANNELS:
        return channel
    if channel is not None and (detail or {}).get("channel") in CHANNELS:
        return detail["channel"]
    return None
