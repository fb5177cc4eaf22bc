"""Segment membership: evaluate a workspace's segment rules for some contacts and record the real changes.

`segments_refresh` is called explicitly (no signals) by the contact services after a create, an update or a tag
change, and by event ingestion for the contacts it created (`contacts.apps` hands it to `events.ingest`). It is
batch-shaped: a constant number of queries whatever the number of contacts and segments, and it emits
`segment.entered` / `segment.exited` only for rows it really inserted or deleted, so two concurrent refreshes of
one contact cannot both report the same change. For a few contacts the rules are evaluated in Python (one read of
their history per batch); from `SQL_FROM_CONTACTS` contacts on, each rule that compiles to SQL
(`contacts.rule_sql`) is one statement over those contacts.

`segment_members_rebuild` computes a segment's whole membership when it is created or its rule changes, in an RQ
job (`segment_rebuild_job`); from then on the membership table is the source of truth for its members
(`Segment.members_as_of`); until then they are read through the rule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from uuid import UUID, uuid4

import django_rq
from django.db import connection, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from redis.exceptions import RedisError

from contacts.activity import ActivityReader
from contacts.models import Contact, Segment
from contacts.rule_sql import RuleNotCompilable, compile_rule_sql
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
# From this many changed contacts on, a refresh asks SQL (one statement per segment) instead of evaluating each
# contact in Python: for one contact (a contact write) the Python evaluation is cheaper than the statements.
SQL_FROM_CONTACTS = 50
# The queue of the full rebuilds of segments (after a create or a rule change).
REBUILD_QUEUE = "default"


@dataclass
class SegmentChanges:
    entered: list[tuple[UUID, UUID]] = field(default_factory=list)  # (segment id, contact id)
    exited: list[tuple[UUID, UUID]] = field(default_factory=list)


def _members_by_rule(segments: list[Segment], contacts: list[Contact], now=None) -> set[tuple[UUID, UUID]]:
    now = now or timezone.now()
    activity = ActivityReader(contacts=[(c.workspace_id, c.pk) for c in contacts], now=now)
    prefetch_related_objects(contacts, "scores")  # rules may read contact.predictions: one query, not one each
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


def rule_members(*, workspace_id: UUID, rule, now=None, contact_ids: Collection[UUID] | None = None) -> set[UUID]:
    """Return the contacts of the workspace (among `contact_ids` when given) that `rule` holds for, as the Python
    evaluator decides.

    The rule compiled to SQL selects the sure rows in one statement; the rows it marks unsure (values the SQL
    does not model exactly) and every row of a rule that does not compile are evaluated in Python.
    """
    now = now or timezone.now()
    try:
        compiled = compile_rule_sql(rule, now=now)
    except RuleNotCompilable:
        compiled = None
    scope, params = ["c.workspace_id = %s"], [workspace_id]
    if contact_ids is not None:
        scope.append("c.id = ANY(%s::uuid[])")
        params.append(list(contact_ids))
    where = " AND ".join(scope)
    if compiled is None:
        return _python_members(rule, now, f"SELECT c.id FROM contacts_contact c WHERE {where}", params)
    with transaction.atomic(), connection.cursor() as cursor:
        # A compiled rule is a large expression: PostgreSQL's JIT spends seconds compiling it, for a scan that
        # takes milliseconds per thousands of contacts. SET LOCAL: for this transaction only.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"SELECT c.id, {compiled.unsure.text} FROM contacts_contact c WHERE {where} "
                       f"AND ({compiled.unsure.text} OR {compiled.where.text})",
                       [*compiled.unsure.params, *params, *compiled.unsure.params, *compiled.where.params])
        rows = cursor.fetchall()
    members = {contact for contact, unsure in rows if not unsure}
    unsure = [contact for contact, unsure in rows if unsure]
    if not unsure:
        return members
    unsure_sql = "SELECT c.id FROM contacts_contact c WHERE c.id = ANY(%s::uuid[])"
    return members | _python_members(rule, now, unsure_sql, [unsure])


def rule_candidates(*, workspace_id: UUID, rule, now) -> tuple[str, list] | None:
    """Return SQL (and its parameters) selecting the ids of the workspace's contacts `rule` may hold for: the sure
    matches and the unsure rows, never a contact for whom it is surely false. None when the rule does not compile
    or reads the contact's history (callers that evaluate without history must keep seeing every contact).

    For callers that still evaluate each candidate in Python (and report the contacts it fails for): a sure
    row cannot fail, so leaving out the sure non-matches changes nothing but the time it takes.
    """
    try:
        compiled = compile_rule_sql(rule, now=now)
    except RuleNotCompilable:
        return None
    if compiled.uses_history:
        return None
    return (f"SELECT c.id FROM contacts_contact c WHERE c.workspace_id = %s AND ({compiled.unsure.text} OR "
            f"{compiled.where.text})", [workspace_id, *compiled.unsure.params, *compiled.where.params])


def _python_members(rule, now, select_ids: str, params: list, chunk: int = 2000) -> set[UUID]:
    """Evaluate `rule` in Python for the contacts `select_ids` returns, a chunk at a time."""
    with connection.cursor() as cursor:
        cursor.execute(select_ids, params)
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return set()
    segment = Segment(rule=rule)
    members: set[UUID] = set()
    for start in range(0, len(ids), chunk):
        contacts = list(Contact.objects.filter(pk__in=ids[start:start + chunk]))
        members |= {contact for _, contact in _members_by_rule([segment], contacts, now=now)}
    return members


def segment_members_rebuild(*, segment: Segment, chunk_size: int = 50_000,
                            source: str = Event.Source.SYSTEM) -> SegmentChanges:
    """Compute the segment's membership in full (after a create or a rule change) and emit the changes.

    The members wanted are selected first, by one scan of the workspace's contacts (the compiled rule; its unsure
    rows, or every row of a rule that does not compile, evaluated in Python), into a temporary table of ids. The
    changes are then written range of ids by range of ids, each range in a transaction of its own: one
    INSERT ... SELECT for those who enter, one DELETE for those who leave, and that range's segment.entered /
    segment.exited events. So a workspace of a million contacts never holds one huge transaction, nor its ids or
    events in memory at once; and a concurrent `segments_refresh` cannot make a change be reported twice (both
    write with ON CONFLICT DO NOTHING / DELETE ... RETURNING and report only what they changed).
    """
    changes = SegmentChanges()
    now = timezone.now()
    wanted = f"segment_wanted_{uuid4().hex}"
    lock = f"segment-rebuild:{segment.pk}"
    with connection.cursor() as cursor:
        # One rebuild of a segment at a time (two jobs after two quick rule changes): the later one starts from
        # what the earlier one wrote.
        cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [lock])
        cursor.execute(f"CREATE TEMPORARY TABLE {wanted} (id uuid PRIMARY KEY, unsure boolean NOT NULL)")
        try:
            _wanted_select(cursor, wanted, segment, now)
            cursor.execute(f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM {wanted}) AS t "
                           "WHERE n %% %s = 0 ORDER BY id", [chunk_size])
            bounds = [row[0] for row in cursor.fetchall()]
            for after, up_to in zip([None, *bounds], [*bounds, None], strict=True):
                with transaction.atomic():
                    entered, exited = _apply_range(cursor, wanted, segment, after, up_to, now)
                    _emit(segment.workspace_id, entered, exited, source)
                changes.entered += entered
                changes.exited += exited
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {wanted}")
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [lock])
    # Only if the rule is still the one computed: after a change meanwhile, the change's own rebuild sets it.
    if Segment.objects.filter(pk=segment.pk, rule=segment.rule).update(members_as_of=now):
        segment.members_as_of = now
    return changes


def _wanted_select(cursor, wanted: str, segment: Segment, now) -> None:
    """Fill the table `wanted` with the ids of the contacts the segment's rule holds for."""
    try:
        compiled = compile_rule_sql(segment.rule, now=now)
    except RuleNotCompilable:
        compiled = None
    if compiled is None:
        cursor.execute(f"INSERT INTO {wanted} SELECT id, TRUE FROM contacts_contact WHERE workspace_id = %s",
                       [segment.workspace_id])
    else:
        with transaction.atomic():
            cursor.execute("SET LOCAL jit = off")  # see rule_members
            # Each expression once per contact (OFFSET 0 keeps the subquery from being flattened into the filter).
            cursor.execute(
                f"INSERT INTO {wanted} SELECT id, unsure FROM (SELECT c.id, {compiled.unsure.text} AS unsure, "
                f"{compiled.where.text} AS holds FROM contacts_contact c WHERE c.workspace_id = %s OFFSET 0) AS r "
                "WHERE unsure OR holds",
                [*compiled.unsure.params, *compiled.where.params, segment.workspace_id],
            )
    # The unsure rows (all of them for a rule that does not compile), by the Python evaluator, a chunk at a time.
    after = None
    while True:
        cursor.execute(f"SELECT id FROM {wanted} WHERE unsure" + (" AND id > %s" if after else "")
                       + " ORDER BY id LIMIT 2000", [after] if after else [])
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            break
        contacts = list(Contact.objects.filter(pk__in=ids))
        members = [c for _, c in _members_by_rule([segment], contacts, now=now)]
        cursor.execute(f"DELETE FROM {wanted} WHERE id = ANY(%s::uuid[]) AND NOT id = ANY(%s::uuid[])",
                       [ids, members])
        cursor.execute(f"UPDATE {wanted} SET unsure = FALSE WHERE id = ANY(%s::uuid[])", [members])
        after = ids[-1]


def _apply_range(cursor, wanted: str, segment: Segment, after, up_to, now) -> tuple[list, list]:
    """Write the membership changes of the ids in (after, up_to] (None: unbounded); return them."""
    bounds, params = [], []
    if after is not None:
        bounds.append("{id} > %s")
        params.append(after)
    if up_to is not None:
        bounds.append("{id} <= %s")
        params.append(up_to)
    within = "".join(f" AND {b}" for b in bounds)
    cursor.execute(
        "INSERT INTO contacts_segmentmembership (segment_id, contact_id, entered_at) "
        f"SELECT %s, w.id, %s FROM {wanted} w JOIN contacts_contact c ON c.id = w.id WHERE TRUE"
        + within.format(id="w.id") + " ON CONFLICT (segment_id, contact_id) DO NOTHING RETURNING contact_id",
        [segment.pk, now, *params],
    )
    entered = sorted((segment.pk, row[0]) for row in cursor.fetchall())
    cursor.execute(
        "DELETE FROM contacts_segmentmembership m WHERE m.segment_id = %s" + within.format(id="m.contact_id")
        + f" AND NOT EXISTS (SELECT 1 FROM {wanted} w WHERE w.id = m.contact_id) RETURNING m.contact_id",
        [segment.pk, *params],
    )
    exited = sorted((segment.pk, row[0]) for row in cursor.fetchall())
    return entered, exited


def _emit(workspace_id, entered, exited, source) -> None:
    new_events = [
        NewEvent(type="segment.entered", contact_id=contact, properties={"segment_id": str(segment)}, source=source)
        for segment, contact in entered
    ] + [
        NewEvent(type="segment.exited", contact_id=contact, properties={"segment_id": str(segment)}, source=source)
        for segment, contact in exited
    ]
    if new_events:
        events_emit(workspace=workspace_id, events=new_events)


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


def rule_sql_note(rule) -> str:
    """Why the members of a segment with `rule` are found by evaluating it in Python, contact by contact (slow on
    large workspaces), instead of by one SQL statement; empty when the rule compiles to SQL."""
    return _sql_note_of(json.dumps(rule, sort_keys=True))


@lru_cache(maxsize=1024)
def _sql_note_of(rule_json: str) -> str:
    # Cached by the rule's text: a page of segments asks for each, and whether a rule compiles depends on the
    # rule alone (not on the time given to compile_rule_sql, which only fills parameters).
    try:
        compile_rule_sql(json.loads(rule_json), now=timezone.now())
    except RuleNotCompilable as refused:
        return refused.reason
    return ""


def segment_save(*, workspace, serializer, replacing: Segment | None = None) -> Segment:
    """Save a validated segment serializer within the workspace's segment budget, then have its membership
    computed in full, in a job, when it is new or its rule changed (`segment_rebuild_enqueue`).

    A rule with an operation that SQL cannot run both exactly and fast (`regex`) is refused (422
    `rule_not_compilable`): its membership over a large workspace would be a contact-by-contact evaluation.
    Other rules that do not compile (yet) are kept and evaluated in Python.
    """
    rule = serializer.validated_data.get("rule", getattr(replacing, "rule", {}))
    try:
        compile_rule_sql(rule, now=timezone.now())
    except RuleNotCompilable as refused:
        if refused.at_save:
            raise NotAllowedNow(
                f"This rule cannot be used for a segment: {refused.reason}.",
                details={"rule": refused.reason}, code="rule_not_compilable",
            ) from None
    old_rule = replacing.rule if replacing is not None else None
    segment = _segment_save_locked(workspace=workspace, serializer=serializer, replacing=replacing, rule=rule)
    if replacing is None or segment.rule != old_rule or segment.members_as_of is None:
        segment_rebuild_enqueue(segment)
    return segment


class _NewSegment:
    """What ``segment_save`` needs of a serializer, for a segment made by code rather than by the API."""

    def __init__(self, **data) -> None:
        self.validated_data = data

    def save(self, **extra) -> Segment:
        return Segment.objects.create(**self.validated_data, **extra)


def segment_create(*, workspace, name: str, rule, description: str = "") -> Segment:
    """Create a segment from a rule the caller has checked (a workflow template's), as ``POST /segments`` does:
    within the workspace's segment budget, its membership computed by a job after commit."""
    return segment_save(workspace=workspace, serializer=_NewSegment(name=name, rule=rule, description=description))


def segment_rebuild_enqueue(segment: Segment) -> None:
    """Run the segment's full rebuild as an RQ job (queue `REBUILD_QUEUE`) once the caller's transaction commits,
    so that a save answers without scanning the workspace. Until the job ends, `members_as_of` is None and members
    are read through the rule, so reads stay right meanwhile. If Redis cannot take the job, the rebuild runs here.
    """

    def enqueue() -> None:
        try:
            django_rq.get_queue(REBUILD_QUEUE).enqueue("contacts.segments.segment_rebuild_job", str(segment.pk),
                                                       result_ttl=60, failure_ttl=86400)
        except RedisError:
            logger.exception("Could not enqueue the rebuild of segment %s; rebuilding it now", segment.pk)
            segment_members_rebuild(segment=segment)

    transaction.on_commit(enqueue)


def segment_rebuild_job(segment_id: str) -> None:
    """RQ job: the full rebuild of a segment for its rule as it is when the job runs. Safe to run twice (the
    rebuild reports only the changes it makes) and after the segment was deleted (nothing to do)."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is not None:
        segment_members_rebuild(segment=segment)


@transaction.atomic
def _segment_save_locked(*, workspace, serializer, replacing: Segment | None, rule) -> Segment:
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    segments_cost_check(workspace=workspace, rule=rule, replacing=replacing)
    if replacing is not None and rule != replacing.rule:
        # The kept membership is the old rule's: until the rebuild ends, members are found by the new rule.
        return serializer.save(workspace=workspace, members_as_of=None)
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
    wanted = _members_wanted(workspace, segments, contacts)
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
        _emit(getattr(workspace, "pk", workspace), changes.entered, changes.exited, source)
    return changes


def _members_wanted(workspace, segments: list[Segment], contacts: list[Contact]) -> set[tuple[UUID, UUID]]:
    """Which (segment, contact) pairs the rules hold for: by SQL for the rules that compile (one statement each,
    over these contacts only), by the Python evaluator for the others."""
    if len(contacts) < SQL_FROM_CONTACTS:
        return _members_by_rule(segments, contacts)
    now = timezone.now()
    workspace_id = getattr(workspace, "pk", workspace)
    ids = [c.pk for c in contacts]
    wanted: set[tuple[UUID, UUID]] = set()
    by_python = []
    for segment in segments:
        try:
            compile_rule_sql(segment.rule, now=now)
        except RuleNotCompilable:
            by_python.append(segment)
            continue
        wanted |= {(segment.pk, c) for c in rule_members(workspace_id=workspace_id, rule=segment.rule, now=now,
                                                         contact_ids=ids)}
    return wanted | (_members_by_rule(by_python, contacts, now=now) if by_python else set())


def segment_contacts(*, segment: Segment):
    """Return the contacts of the segment, as a queryset.

    The membership table is the source of truth once it was computed in full for the segment's rule
    (`members_as_of`, set by `segment_members_rebuild`); before that, the rule itself selects
    them (compiled to SQL where it compiles, evaluated in Python otherwise).
    """
    contacts = Contact.objects.for_workspace(segment.workspace_id)
    if segment.members_as_of is not None:
        return contacts.filter(segment_memberships__segment=segment)
    return contacts.filter(pk__in=list(rule_members(workspace_id=segment.workspace_id, rule=segment.rule)))
