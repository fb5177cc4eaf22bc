"""Segment membership: evaluate a workspace's segment rules for some contacts and record the real changes.

`segments_refresh` is called explicitly (no signals) by the contact services after a create, an update or a tag
change, and by event ingestion for the contacts it created (`contacts.apps` hands it to `events.ingest`). It is
batch-shaped: a constant number of queries whatever the number of contacts and segments, and it emits
`segment.entered` / `segment.exited` only for rows it really inserted or deleted, so two concurrent refreshes of
one contact cannot both report the same change.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from contacts.activity import ActivityReader
from contacts.models import Contact, Segment
from contacts.selectors import contact_as_data
from events.models import Event
from events.services import NewEvent, events_emit
from penguinflow.common.errors import NotAllowedNow
from penguinflow.workspaces.models import Workspace
from workflows.engine.conditions import ConditionError, RuleBudgetExceeded, compile_rule, rule_cost

logger = logging.getLogger(__name__)

# Every contact write and every ingested new contact evaluates all of its workspace's segments in the request, so
# the sum of their worst-case costs (workflows.engine.conditions.rule_cost) is what one contact costs a request:
# 250,000 operations is about 50 ms. Hundreds of ordinary segments cost a few thousand; only segments that loop
# over long lists, several at the per-rule limit, reach it.
WORKSPACE_SEGMENTS_COST = 250_000


@dataclass
class SegmentChanges:
    entered: list[tuple[UUID, UUID]] = field(default_factory=list)  # (segment id, contact id)
    exited: list[tuple[UUID, UUID]] = field(default_factory=list)


def _members_by_rule(segments: list[Segment], contacts: list[Contact]) -> set[tuple[UUID, UUID]]:
    now = timezone.now()
    activity = ActivityReader(contacts=[(c.workspace_id, c.pk) for c in contacts], now=now)
    data = [(contact.pk, {"contact": contact_as_data(contact)}) for contact in contacts]
    wanted: set[tuple[UUID, UUID]] = set()
    for segment in segments:
        try:
            rule = compile_rule(segment.rule)
        except ConditionError as error:
            logger.warning("Segment %s has an invalid rule (%s): it has no members", segment.pk, error)
            continue
        over_budget: list[UUID] = []
        for contact_id, contact_data in data:
            try:
                if rule.holds(contact_data, now=now, contact_id=str(contact_id), activity=activity):
                    wanted.add((segment.pk, contact_id))
            except RuleBudgetExceeded:
                over_budget.append(contact_id)  # stopped at its budget: not a member, reported below
            except ConditionError:
                continue  # a contact the rule cannot be evaluated for is not a member
        if over_budget:
            # One line per segment and refresh, not per contact: a costly rule usually fails for everyone.
            logger.warning(
                "Segment %s: the rule went over its budget for %d of %d contacts (first: %s); they are not members",
                segment.pk, len(over_budget), len(data), over_budget[0],
            )  # fmt: skip
    return wanted


def segments_cost_check(*, workspace, rule, replacing: Segment | None = None) -> None:
    """Refuse (422) a segment rule that would take the workspace's segments over `WORKSPACE_SEGMENTS_COST`.

    Caller holds the workspace's lock (`segment_save`), so that two saves cannot both fit the same room.
    """
    others = Segment.objects.for_workspace(workspace)
    if replacing is not None:
        others = others.exclude(pk=replacing.pk)
    spent = sum(rule_cost(other) for other in others.values_list("rule", flat=True))
    cost = rule_cost(rule)
    if spent + cost > WORKSPACE_SEGMENTS_COST:
        raise NotAllowedNow(
            f"This rule's worst case is {cost:,} operations; with the workspace's other segments "
            f"({spent:,}) it goes over the {WORKSPACE_SEGMENTS_COST:,} that every contact change may spend on "
            "segments. Simplify a rule (loops over long lists cost the most), or delete a segment.",
            details={"rule": f"Costs {cost:,} operations; {max(0, WORKSPACE_SEGMENTS_COST - spent):,} left."},
            code="segment_budget_exceeded",
        )


@transaction.atomic
def segment_save(*, workspace, serializer, replacing: Segment | None = None) -> Segment:
    """Save a validated segment serializer within the workspace's segment budget."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    segments_cost_check(workspace=workspace, rule=serializer.validated_data.get("rule", getattr(replacing, "rule", {})),
                        replacing=replacing)
    return serializer.save(workspace=workspace)


def segments_refresh(
    *, workspace, contact_ids: Collection[UUID], source: str = Event.Source.SYSTEM
) -> SegmentChanges:
    """Re-evaluate every segment of the workspace for these contacts; record and emit the real changes.

    Runs its writes in the caller's transaction when there is one (the contact services hold one).
    """
    changes = SegmentChanges()
    if not contact_ids:
        return changes
    segments = list(Segment.objects.for_workspace(workspace))
    if not segments:
        return changes
    contacts = list(Contact.objects.for_workspace(workspace).filter(pk__in=list(contact_ids)))
    if not contacts:
        return changes
    present = [c.pk for c in contacts]
    wanted = _members_by_rule(segments, contacts)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT segment_id, contact_id FROM contacts_segmentmembership "
            "WHERE contact_id = ANY(%s::uuid[]) AND segment_id = ANY(%s::uuid[])",
            [present, [s.pk for s in segments]],
        )
        current = set(cursor.fetchall())
        enter = sorted(wanted - current)
        leave = sorted(current - wanted)
        if enter:
            cursor.execute(
                "INSERT INTO contacts_segmentmembership (segment_id, contact_id, entered_at) "
                "SELECT s, c, %s FROM unnest(%s::uuid[], %s::uuid[]) AS t(s, c) "
                "ON CONFLICT (segment_id, contact_id) DO NOTHING RETURNING segment_id, contact_id",
                [timezone.now(), [s for s, _ in enter], [c for _, c in enter]],
            )
            changes.entered = sorted(cursor.fetchall())
        if leave:
            cursor.execute(
                "DELETE FROM contacts_segmentmembership m USING unnest(%s::uuid[], %s::uuid[]) AS t(s, c) "
                "WHERE m.segment_id = t.s AND m.contact_id = t.c RETURNING m.segment_id, m.contact_id",
                [[s for s, _ in leave], [c for _, c in leave]],
            )
            changes.exited = sorted(cursor.fetchall())
        new_events = [
            NewEvent(type="segment.entered", contact_id=contact, properties={"segment_id": str(segment)}, source=source)
            for segment, contact in changes.entered
        ] + [
            NewEvent(type="segment.exited", contact_id=contact, properties={"segment_id": str(segment)}, source=source)
            for segment, contact in changes.exited
        ]
        if new_events:
            events_emit(workspace=workspace, events=new_events)
    return changes
