"""Moving live enrollments of older versions onto a newly published one (CONTRACT §17): the plan and its job.

The engine decides one rule per old node (`workflows.engine.migration.node_moves`); here the database counts the
contacts each rule moves (one GROUP BY over the workflow's live enrollments) and applies the rules set-based, a
chunk of enrollments per statement. What a job still has to move are its items: a chunk moves its enrollments,
writes their step log and counters and deletes its items in one transaction, so a crash at any point leaves
either all of a chunk done or none of it, and the job resumes with the items left. An enrollment is moved only
while it is live, on an old version and at a node with a rule, so it can never be moved twice. A large job is
applied by several connections at once (WORKFLOW_MIGRATION_APPLIERS), each with its own range of the items.

What a moved enrollment costs is mostly its new row: version_id is indexed, so the update cannot be HOT and writes
an entry in each of the table's indexes. The rest is kept to set-based statements that read by primary key and a
step-log insert that appends to its indexes. Measured per chunk of 20,000 (perf, 2026-12-05): about 45 µs of
PostgreSQL CPU per enrollment (55 µs before the step log's and the version's foreign-key checks and an unread index
were dropped), of which the index entries are about half (a fifth of that is PostgreSQL's bottom-up deletion trying
to make room among the old versions, which the other connections' snapshots still hold); reading and locking the
rows, the step-log row, the JSON of the state and of the step log, the item deletes and the counts share the rest.
The chunk size does not change the figure from 5,000 to 40,000.

Contacts mid-step are never split across versions: a chunk locks its enrollments with SKIP LOCKED and leaves
those a worker holds (by row lock or by a lease still running); their items stay, and the next pass moves them
once their step is over.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from penguinflow.common.errors import Conflict, InvalidInput, NotAllowedNow
from workflows import version_graphs as graphs
from workflows.counters import Counters, status_key
from workflows.engine.graph import Graph
from workflows.engine.migration import EXIT, MappingProblem, NodeMove, node_moves
from workflows.engine.statuses import EnrollmentStatus
from workflows.models import (
    Enrollment,
    StepRun,
    VersionMigration,
    VersionMigrationItem,
    Workflow,
    WorkflowVersion,
)
from workflows.scheduler import new_lease_owner

logger = logging.getLogger(__name__)

# Enrollments per transaction. Each one's row gets a new version (its version_id is indexed, and its page has no
# room for it), so every index of the table is written: the work per enrollment is fixed, and larger chunks
# spread a chunk's own costs (planning, the lease, the counters, the commit) thinner. A chunk holds its rows'
# locks until it commits; the runtime's claims skip them meanwhile (SKIP LOCKED).
CHUNK = 20_000
LEASE_SECONDS = 60
_LIVE = [status.value for status in Enrollment.LIVE_STATUSES]
_E, _I, _S = Enrollment._meta.db_table, VersionMigrationItem._meta.db_table, StepRun._meta.db_table


@dataclass(frozen=True)
class MigrateRequest:
    """What the publish body's `migrate` asks for (CONTRACT §17)."""

    from_versions: tuple[int, ...]
    mapping: Mapping[str, str]
    dry_run: bool = True


@dataclass(frozen=True)
class VersionRules:
    """The rules of one old version: its moves by node, and what its mapping cannot do."""

    version: WorkflowVersion
    moves: dict[str, NodeMove]
    problems: list[MappingProblem]


@dataclass
class MigrationPlan:
    """Where each old node's contacts go and how many they are, what cannot move, and why apply would refuse."""

    to_version: int | None
    moves: list[dict[str, Any]] = field(default_factory=list)
    unmigratable: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    rules: list[VersionRules] = field(default_factory=list)

    @property
    def contacts(self) -> int:
        return sum(move["contacts"] for move in self.moves)

    def as_dict(self) -> dict[str, Any]:
        timers = Tally()
        for move in self.moves:
            timers.update(move["timers"])
        return {
            "to_version": self.to_version,
            "moves": self.moves,
            "unmigratable": self.unmigratable,
            "refusals": self.refusals,
            "can_apply": not self.refusals,
            "totals": {
                "contacts": self.contacts,
                "timers": {k: timers[k] for k in ("kept", "recomputed", "fired")},
                "mid_step": sum(move["mid_step"] for move in self.moves),
            },
        }


# --- the plan ----------------------------------------------------------------------------------------------------


def _old_versions(workflow: Workflow, numbers: Iterable[int], to_number: int | None) -> list[WorkflowVersion]:
    numbers = sorted(set(numbers))
    if not numbers:
        raise InvalidInput(
            "The migration is not valid.",
            details={"migrate.from_versions": "Name at least one published version to move from."},
        )
    versions = list(WorkflowVersion.objects.filter(workflow=workflow, number__in=numbers).order_by("number"))
    missing = sorted(set(numbers) - {v.number for v in versions})
    if missing:
        raise InvalidInput(
            "The migration is not valid.",
            details={
                "migrate.from_versions": f"This workflow has no published version {', '.join(map(str, missing))}."
            },
        )
    if to_number is not None and any(v.number >= to_number for v in versions):
        raise InvalidInput(
            "The migration is not valid.",
            details={
                "migrate.from_versions": f"Contacts move forward only: name versions older than v{to_number}."
            },
        )
    return versions


def _rules(
    versions: list[WorkflowVersion], new_graph: Graph, mapping: Mapping[str, str]
) -> list[VersionRules]:
    """Return each old version's rules; a mapped node that none of the old versions has is refused once."""
    rules = []
    for version in versions:
        moves, problems = node_moves(graphs.graph_of(version), new_graph, mapping)
        rules.append(VersionRules(version, moves, [p for p in problems if p.code != "unknown_node"]))
    known = {node for rule in rules for node in graphs.graph_of(rule.version).node_by_id}
    unknown = [source for source in mapping if source not in known]
    if unknown:
        raise InvalidInput(
            "The migration is not valid.",
            details={
                f"migrate.mapping.{source}": "None of the chosen versions has this node."
                for source in unknown
            },
        )
    return rules


_COUNT_SQL = f"""
SELECT e.version_id, e.current_node_id, e.status,
       e.status = 'waiting' AND NOT coalesce((e.context->'wait'->>'retry')::boolean, false) AS parked,
       count(*),
       count(*) FILTER (WHERE e.lease_expires_at >= %(now)s),
       count(*) FILTER (WHERE m.after IS NOT NULL AND e.status = 'waiting'
                          AND NOT coalesce((e.context->'wait'->>'retry')::boolean, false)
                          AND (e.context->'wait'->>'since')::timestamptz + make_interval(secs => m.after) <= %(now)s)
FROM {_E} e
LEFT JOIN unnest(%(m_version)s::uuid[], %(m_node)s::text[], %(m_after)s::float8[]) AS m(version_id, node, after)
       ON m.version_id = e.version_id AND m.node = e.current_node_id
WHERE e.workflow_id = %(workflow)s AND e.version_id = ANY(%(versions)s::uuid[])
  AND (e.status = 'failed' OR (e.status IN ('active', 'waiting') AND NOT e.context ? 'branches'))
GROUP BY 1, 2, 3, 4
"""

# Enrollments running parallel branches (or a for_each's items) are not moved: their branches stand at nodes of
# their own version, and moving a family together is not supported yet. They stay, and the plan says so.
_FAMILIES_SQL = f"""
SELECT e.version_id, count(*) FROM {_E} e
WHERE e.workflow_id = %(workflow)s AND e.version_id = ANY(%(versions)s::uuid[])
  AND e.status IN ('active', 'waiting') AND e.context ? 'branches'
GROUP BY 1
"""


def migration_plan(
    *,
    workflow: Workflow,
    new_graph: Graph,
    request: MigrateRequest,
    to_number: int | None,
    now: datetime | None = None,
) -> MigrationPlan:
    """Count where the live contacts of the chosen versions would go; change nothing.

    One statement counts the contacts per old version, node and status (it also counts the recomputed timers
    that would already be due, which fire at once).
    """
    now = now or timezone.now()
    versions = _old_versions(workflow, request.from_versions, to_number)
    rules = _rules(versions, new_graph, request.mapping)
    recomputed = [
        (rule.version.pk, move.from_node, move.wait.until_after or move.wait.timeout_after)
        for rule in rules
        for move in rule.moves.values()
        if move.wait.fate == "recomputed"
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNT_SQL,
            {
                "now": now,
                "workflow": workflow.pk,
                "versions": [v.pk for v in versions],
                "m_version": [r[0] for r in recomputed],
                "m_node": [r[1] for r in recomputed],
                "m_after": [r[2] for r in recomputed],
            },
        )
        rows = cursor.fetchall()
        cursor.execute(_FAMILIES_SQL, {"workflow": workflow.pk, "versions": [v.pk for v in versions]})
        families = dict(cursor.fetchall())
    plan = _plan_from_counts(rules, rows, to_number)
    for rule in rules:
        if families.get(rule.version.pk):
            number = rule.version.number
            plan.unmigratable.append({
                "from_version": number, "from_node": None, "contacts": families[rule.version.pk],
                "code": "branches_in_flight",
                "reason": f"Enrollments running parallel branches or a for_each's items stay on v{number} until "
                          "they finish: a family of branches is not moved.",
            })
    return plan


@dataclass
class _NodeCount:
    contacts: int = 0
    waiting: int = 0
    mid_step: int = 0
    parked: int = 0
    due_now: int = 0
    failed: int = 0


def _plan_from_counts(rules: list[VersionRules], rows: list[tuple], to_number: int | None) -> MigrationPlan:
    counts: dict[tuple[UUID, str], _NodeCount] = {}
    for version_id, node_id, status, parked, total, leased, due_now in rows:
        count = counts.setdefault((version_id, node_id), _NodeCount())
        if status == EnrollmentStatus.FAILED:
            count.failed += total
            continue
        count.contacts += total
        count.mid_step += leased
        count.waiting += total if status == EnrollmentStatus.WAITING else 0
        count.parked += total if parked else 0
        count.due_now += due_now
    plan = MigrationPlan(to_version=to_number, rules=rules)
    for rule in rules:
        number = rule.version.number
        for node_id, move in rule.moves.items():
            count = counts.get((rule.version.pk, node_id), _NodeCount())
            plan.moves.append(_move_entry(number, move, count))
        for problem in rule.problems:
            count = counts.get((rule.version.pk, problem.from_node), _NodeCount())
            if problem.code == "unmapped" and not count.contacts:
                continue  # a removed node nobody stands at strands nobody
            entry = {
                "from_version": number,
                "from_node": problem.from_node,
                "contacts": count.contacts,
                "code": problem.code,
                "reason": problem.reason,
            }
            plan.unmigratable.append(entry)
            plan.refusals.append(entry)
        failed = sum(c.failed for (vid, _), c in counts.items() if vid == rule.version.pk)
        if failed:
            plan.unmigratable.append(
                {
                    "from_version": number,
                    "from_node": None,
                    "contacts": failed,
                    "code": "failed",
                    "reason": f"Failed enrollments stay on v{number}: retrying one runs it there.",
                }
            )
    return plan


def _move_entry(number: int | None, move: NodeMove, count: _NodeCount) -> dict[str, Any]:
    waiting_timers = count.waiting
    if move.wait.fate == "fired" or move.exits:
        timers = {"kept": 0, "recomputed": 0, "fired": waiting_timers}
    elif move.wait.fate == "recomputed":
        # A retry's wait is no wait of the node: it is kept whatever the node's timing.
        retries = waiting_timers - count.parked
        timers = {"kept": retries, "recomputed": count.parked - count.due_now, "fired": count.due_now}
    else:
        timers = {"kept": waiting_timers, "recomputed": 0, "fired": 0}
    return {
        "from_version": number,
        "from_node": move.from_node,
        "to_node": move.to_node,
        "contacts": count.contacts,
        "waiting": count.waiting,
        "active": count.contacts - count.waiting,
        "mid_step": count.mid_step,
        "timers": timers,
        "timer_rule": move.wait.why,
        "mapped": move.mapped,
    }


# --- starting a job ----------------------------------------------------------------------------------------------


def migration_refuse_if_blocked(plan: MigrationPlan) -> None:
    """Raise 422 with the reasons when applying `plan` would strand contacts or move them nowhere."""
    if plan.refusals:
        raise NotAllowedNow(
            f"The migration cannot be applied: {len(plan.refusals)} node(s) of the old versions have no valid "
            "place in the new one. Map each to a node of the new version or to 'exit'.",
            details={"plan": plan.as_dict()},
            code="migration_refused",
        )


def migration_start(
    *, workflow: Workflow, to_version: WorkflowVersion, plan: MigrationPlan
) -> VersionMigration:
    """Make the job of `plan` and list the enrollments it has to move. Caller holds a transaction."""
    moves = [
        {
            "version_id": str(rule.version.pk),
            "number": rule.version.number,
            "from_node": move.from_node,
            "to_node": move.to_node,
            "exits": move.exits,
            "fate": move.wait.fate,
            "until_after": move.wait.until_after,
            "timeout_after": move.wait.timeout_after,
            "event": move.wait.event,
        }
        for rule in plan.rules
        for move in rule.moves.values()
    ]
    job = VersionMigration.objects.create(
        workflow=workflow,
        to_version=to_version,
        moves=moves,
        from_versions=[rule.version.number for rule in plan.rules],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_I} (migration_id, enrollment_id) SELECT %s, id FROM {_E} "
            f"WHERE workflow_id = %s AND version_id = ANY(%s::uuid[]) AND status IN ('active', 'waiting') "
            "ORDER BY id",
            [job.pk, workflow.pk, [rule.version.pk for rule in plan.rules]],
        )
        job.total = cursor.rowcount
        if job.total > INLINE_LIMIT:
            # Fresh statistics, so that a chunk reads its items in order by index: without them the planner
            # guessed a few rows and read all of the job's items to sort them, once per chunk.
            cursor.execute(f"ANALYZE {_I}")
    VersionMigration.objects.filter(pk=job.pk).update(total=job.total)
    return job


# --- applying a job ----------------------------------------------------------------------------------------------

# One chunk, one statement: take the job's next items in order, lock their enrollments that no worker holds,
# compute each one's new row from its node's rule, write it, log the move, and forget the items that need nothing
# more (moved, or no longer live on an old version). The items of enrollments a worker holds stay for the next pass.
# The statement picks its items itself and reads rows by primary key from arrays it builds (ARRAY(SELECT ...)), so
# no id crosses the wire and every plan is an index lookup whatever the planner guesses of the CTEs' sizes.
_APPLY_SQL = f"""
WITH items AS MATERIALIZED (
    SELECT id, enrollment_id FROM {_I}
    WHERE migration_id = %(job)s::uuid AND id > %(after)s AND id <= %(until)s ORDER BY id LIMIT %(chunk)s
),
rules AS (
    -- What a move's step log says is the same for every enrollment of a rule: built once per rule, not per row.
    SELECT r.*, jsonb_build_object(
               'outcome', 'migrated', 'migration_id', %(job)s::text, 'from_version', r.number,
               'from_node', r.from_node, 'to_version', %(to_number)s::int,
               'to_node', CASE WHEN r.exits THEN 'exit' ELSE r.to_node END,
               'message', CASE WHEN r.exits
                   THEN format('exited from v%%s node %%s: moved out by the migration to v%%s',
                               r.number, r.from_node, %(to_number)s::int)
                   ELSE format('moved from v%%s node %%s to v%%s node %%s', r.number, r.from_node,
                               %(to_number)s::int, r.to_node) END) AS detail
    FROM unnest(%(m_version)s::uuid[], %(m_number)s::int[], %(m_from)s::text[], %(m_to)s::text[],
                %(m_exits)s::boolean[], %(m_fate)s::text[], %(m_after)s::float8[], %(m_until)s::boolean[],
                %(m_event)s::text[])
        AS r(version_id, number, from_node, to_node, exits, fate, after, recompute_until, event)
),
locked AS (
    SELECT e.id, e.status AS old_status, e.context, e.next_run_at, e.waiting_for, r.*,
           e.status = 'waiting' AND NOT coalesce((e.context->'wait'->>'retry')::boolean, false) AS parked
    FROM {_E} e
    JOIN rules r ON r.version_id = e.version_id AND r.from_node = e.current_node_id
    WHERE e.id = ANY(ARRAY(SELECT enrollment_id FROM items)) AND e.status IN ('active', 'waiting')
      AND NOT e.context ? 'branches'
      AND (e.lease_expires_at IS NULL OR e.lease_expires_at < %(now)s)
    FOR UPDATE OF e SKIP LOCKED
),
timed AS (
    SELECT l.*,
        CASE WHEN l.exits OR l.old_status <> 'waiting' THEN NULL
             WHEN l.fate = 'fired' THEN 'fired'
             WHEN l.fate = 'recomputed' AND l.parked THEN 'recomputed'
             ELSE 'kept' END AS timer,
        CASE WHEN l.fate = 'recomputed' AND l.parked AND NOT l.exits
             THEN (l.context->'wait'->>'since')::timestamptz + make_interval(secs => l.after) END AS due
    FROM locked l
),
placed AS (
    -- The node change: the contact's position, a fresh visit of its new node, and its wait's node.
    SELECT t.*, CASE WHEN t.exits OR t.to_node = t.from_node THEN t.context ELSE t.context || jsonb_build_object(
                'current_node', t.to_node,
                'visits', coalesce(t.context->'visits', '{{}}'::jsonb) || jsonb_build_object(
                    t.to_node, coalesce((t.context->'visits'->>t.to_node)::int, 0) + 1),
                'wait', CASE WHEN jsonb_typeof(t.context->'wait') = 'object'
                             THEN t.context->'wait' || jsonb_build_object('node_id', t.to_node)
                             ELSE t.context->'wait' END)
           END AS moved_context
    FROM timed t
),
fresh AS (
    SELECT p.id, p.old_status, p.parked, p.number, p.from_node, p.to_node, p.exits, p.due, p.detail,
        CASE WHEN p.timer = 'recomputed' AND p.due <= %(now)s THEN 'fired' ELSE p.timer END AS timer,
        CASE WHEN p.exits THEN 'exited' WHEN p.timer = 'fired' THEN 'active' ELSE p.old_status END AS status,
        CASE WHEN p.exits THEN NULL WHEN p.timer = 'fired' THEN %(now)s
             WHEN p.timer = 'recomputed' THEN p.due ELSE p.next_run_at END AS next_run_at,
        CASE WHEN p.exits OR p.timer = 'fired' THEN ''
             WHEN p.timer = 'recomputed' AND p.event IS NOT NULL THEN p.event ELSE p.waiting_for END AS waiting_for,
        CASE WHEN p.exits THEN p.context || jsonb_build_object(
                 'status', 'exited', 'wait', NULL, 'exit_reason', %(exit_reason)s, 'finished_at', to_jsonb(%(now)s::timestamptz))
             WHEN p.timer = 'fired' THEN p.moved_context || jsonb_build_object('status', 'active', 'wait', NULL,
                                                                               'attempt', 0)
             WHEN p.timer = 'recomputed' THEN p.moved_context || jsonb_build_object('wait',
                 p.moved_context->'wait' || CASE WHEN p.recompute_until
                     THEN jsonb_build_object('until', to_jsonb(p.due))
                     ELSE jsonb_build_object('timeout_at', to_jsonb(p.due), 'event', p.event) END)
             ELSE p.moved_context END AS context
    FROM placed p
),
moved AS (
    UPDATE {_E} e SET
        version_id = CASE WHEN f.exits THEN e.version_id ELSE %(to_version)s::uuid END,
        current_node_id = CASE WHEN f.exits THEN e.current_node_id ELSE f.to_node END,
        status = f.status, next_run_at = f.next_run_at, waiting_for = f.waiting_for, context = f.context,
        finished_at = CASE WHEN f.exits THEN %(now)s ELSE e.finished_at END,
        lease_owner = '', lease_expires_at = NULL, updated_at = %(now)s
    FROM fresh f WHERE e.id = f.id
    RETURNING e.id, f.old_status, f.parked, f.number, f.from_node, f.to_node, f.exits, f.timer, f.status, f.due,
              f.detail,
              e.context->'wait' IS NOT NULL AND jsonb_typeof(e.context->'wait') = 'object'
                  AND e.status = 'waiting'
                  AND NOT coalesce((e.context->'wait'->>'retry')::boolean, false) AS still_parked
),
logged AS (
    -- Time-ordered ids (the chunk's prefix, then a counter): the rows go to the right edge of the primary key
    -- instead of a random leaf each, which would dirty (and write to the WAL) thousands of index pages per chunk.
    INSERT INTO {_S} (id, enrollment_id, node_id, type, attempt, visit, status, branch, detail, error_type,
                      error_message, error_traceback, started_at, finished_at)
    SELECT (%(id_prefix)s || lpad(to_hex(row_number() OVER ()), 8, '0'))::uuid, m.id,
           CASE WHEN m.exits THEN m.from_node ELSE m.to_node END, 'migration', 1, 1, 'succeeded', '',
           m.detail || jsonb_build_object('timer', m.timer, 'due_at', m.due), '', '', '', %(now)s, %(now)s
    FROM moved m
),
settled AS (
    -- Items whose enrollment needs nothing more: moved now, or no longer a live enrollment of an old version.
    DELETE FROM {_I} x
    WHERE x.id = ANY(ARRAY(SELECT id FROM items)) AND (
        x.enrollment_id IN (SELECT id FROM moved)
        OR NOT EXISTS (SELECT 1 FROM {_E} e JOIN rules r ON r.version_id = e.version_id
                       WHERE e.id = x.enrollment_id AND e.status IN ('active', 'waiting')
                         AND NOT e.context ? 'branches' AND r.from_node = e.current_node_id))
    RETURNING x.enrollment_id
)
SELECT 'moved', m.number, m.from_node, m.to_node, m.exits, m.old_status, m.parked, m.status, m.still_parked,
       count(*)
FROM moved m GROUP BY 2, 3, 4, 5, 6, 7, 8, 9
UNION ALL
SELECT 'left', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*)
FROM settled s JOIN {_E} e ON e.id = s.enrollment_id
WHERE e.status IN ('active', 'waiting') AND e.version_id = ANY(%(m_version)s::uuid[])
  AND s.enrollment_id NOT IN (SELECT id FROM moved)
UNION ALL
SELECT 'last', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, max(id) FROM items
"""


@dataclass
class ApplyReport:
    moved: int = 0
    exited: int = 0
    left: int = 0
    waiting_for_steps: int = 0
    done: bool = False


def migration_apply(
    *,
    migration_id: UUID | str,
    chunk: int = CHUNK,
    lease_seconds: float = LEASE_SECONDS,
    max_wait: float = 300.0,
    on_chunk: Callable[[], None] | None = None,
    appliers: int | None = None,
) -> ApplyReport:
    """Apply a migration job to the end (or until `max_wait` seconds pass waiting for workers to finish steps).

    Safe to run twice and from several processes: one holds the job's lease at a time, and a process that dies
    leaves a lease that expires, after which any caller takes the job over where it stopped. A job of more than
    two chunks is applied by `appliers` connections at once (WORKFLOW_MIGRATION_APPLIERS), each with its own stripe
    of the items.
    """
    appliers = appliers or settings.WORKFLOW_MIGRATION_APPLIERS
    owner = new_lease_owner()
    report = ApplyReport()
    job = _take_lease(migration_id, owner, lease_seconds)
    if job is None:
        return report
    to_number = job.to_version.number
    waited_since: float | None = None
    remaining = job.total
    while True:
        stripes = _stripes(job, max(1, appliers) if remaining > 2 * chunk else 1)
        run = partial(_apply_stripe, job, to_number, owner, chunk, lease_seconds, on_chunk=on_chunk)
        if len(stripes) == 1:
            progressed, taken_over = run(*stripes[0], report)
        else:
            progressed, taken_over = _apply_stripes(run, stripes, report)
        if taken_over:
            return report  # ours ran out while we worked
        remaining = VersionMigrationItem.objects.filter(migration_id=job.pk).count()
        report.waiting_for_steps = remaining
        if not remaining:
            _finish(job, owner)
            report.done = True
            return report
        # What is left is held by workers mid-step: wait for their steps to end (their leases are short).
        waited_since = None if progressed else (waited_since or time.monotonic())
        if waited_since is not None and time.monotonic() - waited_since > max_wait:
            _release(job, owner)
            return report
        time.sleep(0.2)


def _stripes(job: VersionMigration, count: int) -> list[tuple[int, int]]:
    """Split the job's items left into `count` ranges of item ids (after, until], as even as the ids are.

    Ranges, not a modulo: the planner estimates a range from the statistics, so a chunk reads its items by
    index in order (it guessed an `id % n` filter at 0.5% and sorted all the items instead)."""
    low, high = VersionMigrationItem.objects.filter(migration_id=job.pk).aggregate(low=Min("id"), high=Max("id")).values()
    if low is None or count == 1:
        return [(0, 2**63 - 1)]
    bounds = [low - 1 + (high - low + 1) * k // count for k in range(count)] + [high]
    return list(itertools.pairwise(bounds))


def _apply_stripes(
    run: Callable[..., tuple[bool, bool]], stripes: list[tuple[int, int]], report: ApplyReport
) -> tuple[bool, bool]:
    """Run the stripes of one pass in threads, each on its own connection, and add their reports up.

    The stripes' chunks never share an enrollment or an item; they do share the counter rows and the job's row,
    which each chunk writes in one order (counters sorted, then the job) as its last statements, so one waits
    for the other's commit at most, and never deadlocks.
    """
    reports = [ApplyReport() for _ in stripes]

    def in_thread(k: int) -> tuple[bool, bool]:
        try:
            return run(*stripes[k], reports[k])
        finally:
            connection.close()  # the thread's own connection (Django's are per thread)

    with ThreadPoolExecutor(max_workers=len(stripes)) as pool:
        outcomes = list(pool.map(in_thread, range(len(stripes))))
    for part in reports:
        report.moved += part.moved
        report.exited += part.exited
        report.left += part.left
    return any(p for p, _ in outcomes), any(t for _, t in outcomes)


def _apply_stripe(
    job: VersionMigration,
    to_number: int,
    owner: str,
    chunk: int,
    lease_seconds: float,
    after: int,
    until: int,
    report: ApplyReport,
    *,
    on_chunk: Callable[[], None] | None,
) -> tuple[bool, bool]:
    """Apply the chunks of one stripe of the items (ids in (after, until]); return whether any enrollment moved,
    and whether the lease was lost (another applier took the job over)."""
    progressed = False
    while True:
        if _take_lease(job.pk, owner, lease_seconds) is None:
            return progressed, True
        last, moved = _apply_chunk(job, to_number, after, chunk, report, until=until)
        if last is None:
            return progressed, False
        after = last
        progressed |= moved > 0
        if on_chunk is not None:
            on_chunk()


def _apply_chunk(
    job: VersionMigration,
    to_number: int,
    after: int,
    chunk: int,
    report: ApplyReport,
    *,
    until: int = 2**63 - 1,
) -> tuple[int | None, int]:
    """Move the enrollments of the job's next `chunk` items after item `after`, in one transaction; return the
    last item id it took (None when none was left) and how many enrollments it moved or ended."""
    moves = job.moves
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # A chunk's rows are sorted and hashed in memory, not on disk. And its commit need not wait for the WAL
        # to reach the disk: a database crash that lost a committed chunk loses its items' deletion with it, so
        # the job moves those enrollments again (the move and the items are one transaction).
        # JIT is off: the planner cannot see the sizes of the CTEs, so the chunk's estimated cost crossed the JIT
        # threshold and each chunk compiled its plan (0.4 s to 1 s per chunk, more than the rest of its work).
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL synchronous_commit = off; SET LOCAL jit = off")
        cursor.execute(
            _APPLY_SQL,
            {
                "after": after,
                "chunk": chunk,
                "until": until,
                "now": now,
                "job": str(job.pk),
                "id_prefix": _step_id_prefix(now),
                "to_version": job.to_version_id,
                "to_number": to_number,
                "exit_reason": f"Moved out by the migration to v{to_number}",
                "m_version": [m["version_id"] for m in moves],
                "m_number": [m["number"] for m in moves],
                "m_from": [m["from_node"] for m in moves],
                "m_to": [m["to_node"] for m in moves],
                "m_exits": [m["exits"] for m in moves],
                "m_fate": [m["fate"] for m in moves],
                "m_after": [m["until_after"] or m["timeout_after"] for m in moves],
                "m_until": [m["until_after"] is not None for m in moves],
                "m_event": [m["event"] for m in moves],
            },
        )
        rows = cursor.fetchall()
        last = next(row[-1] for row in rows if row[0] == "last")
        if last is None:
            return None, 0
        moved, exited, left = _count_moves(job, [row for row in rows if row[0] != "last"])
        VersionMigration.objects.filter(pk=job.pk).update(
            moved=F("moved") + moved, exited=F("exited") + exited, left=F("left") + left, updated_at=now
        )
    report.moved += moved
    report.exited += exited
    report.left += left
    return last, moved + exited


def _step_id_prefix(now: datetime) -> str:
    """Return the first 24 hex digits of a chunk's step-log ids, laid out as UUIDv7 (RFC 9562): 48 bits of
    milliseconds, the version, then random bits; the statement appends a counter of 8 hex digits. The 42 random
    bits keep two chunks of one millisecond apart."""
    bits = secrets.randbits(42)
    rand_a, variant, rand_b = bits >> 30, 0x8 | (bits >> 28 & 0x3), bits & 0xFFFFFFF
    return f"{int(now.timestamp() * 1000):012x}7{rand_a:03x}{variant:x}{rand_b:07x}"


def _count_moves(job: VersionMigration, rows: list[tuple]) -> tuple[int, int, int]:
    """Keep the analytics counters true to the move (both versions' status and waiting counts, in this
    transaction), and return how many enrollments moved, exited, and were left where they are."""
    version_of = {m["number"]: UUID(m["version_id"]) for m in job.moves}
    counters = Counters()
    moved = exited = left = 0
    for kind, number, from_node, to_node, exits, old_status, parked, status, still_parked, count in rows:
        if kind == "left":
            left += count
            continue
        old_version = version_of[number]
        new_version = old_version if exits else job.to_version_id
        counters.add(old_version, status_key(old_status), -count)
        counters.add(new_version, status_key(status), count)
        if parked:
            counters.add(old_version, f"node.{from_node}.waiting", -count)
        if still_parked and not exits:
            counters.add(new_version, f"node.{to_node}.waiting", count)
        if exits:
            exited += count
        else:
            moved += count
    counters.flush()
    return moved, exited, left


def _take_lease(migration_id: UUID | str, owner: str, seconds: float) -> VersionMigration | None:
    now = timezone.now()
    taken = (
        VersionMigration.objects.filter(pk=migration_id, status=VersionMigration.Status.RUNNING)
        .filter(_lease_free(owner, now))
        .update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds))
    )
    if not taken:
        return None
    return VersionMigration.objects.select_related("to_version").get(pk=migration_id)


def _lease_free(owner: str, now: datetime) -> Q:
    return Q(lease_owner="") | Q(lease_owner=owner) | Q(lease_expires_at__lt=now)


def _finish(job: VersionMigration, owner: str) -> None:
    VersionMigration.objects.filter(pk=job.pk, lease_owner=owner).update(
        status=VersionMigration.Status.DONE, finished_at=timezone.now(), lease_owner="", lease_expires_at=None
    )


def _release(job: VersionMigration, owner: str) -> None:
    VersionMigration.objects.filter(pk=job.pk, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )


def migrations_resume(
    *, lease_seconds: float = LEASE_SECONDS, max_wait: float = 300.0, chunk: int = CHUNK
) -> list[ApplyReport]:
    """Apply every running job whose lease is free (its applier died, or it waited too long for workers)."""
    reports = []
    now = timezone.now()
    for job_id in (
        VersionMigration.objects.filter(status=VersionMigration.Status.RUNNING)
        .filter(_lease_free("", now))
        .values_list("pk", flat=True)
    ):
        reports.append(
            migration_apply(migration_id=job_id, lease_seconds=lease_seconds, max_wait=max_wait, chunk=chunk)
        )
    return reports


# --- publish with a migration --------------------------------------------------------------------------------------


@dataclass
class PublishOutcome:
    plan: MigrationPlan
    version: WorkflowVersion | None = None
    migration: VersionMigration | None = None
    report: ApplyReport | None = None


INLINE_LIMIT = 20_000


def workflow_publish_migrating(
    *,
    workflow: Workflow,
    request: MigrateRequest,
    published_by: str = "",
    apply_now: bool | None = None,
    enqueue: Callable[[str], None] | None = None,
) -> PublishOutcome:
    """Plan moving the chosen versions' contacts onto the draft; unless a dry run, publish it and move them.

    A dry run changes nothing. A plan that would strand contacts is refused (422) before anything is published.
    Small migrations are applied before this returns; larger ones by `enqueue` (a job), which a dead worker's
    successor resumes (`migrations_resume`).
    """
    from workflows.services import workflow_publish  # services imports this module's callers, not the reverse

    draft = graphs.draft_of(workflow)
    last = (
        WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    plan = migration_plan(
        workflow=workflow, new_graph=graphs.graph_of(draft), request=request, to_number=(last or 0) + 1
    )
    if request.dry_run:
        return PublishOutcome(plan=plan)
    migration_refuse_if_blocked(plan)
    with transaction.atomic():
        version = workflow_publish(workflow=workflow, published_by=published_by)
        if version.number != plan.to_version:
            raise Conflict(
                f"Version {plan.to_version - 1} is no longer the latest: someone published meanwhile. Plan again.",
                details={"planned_version": plan.to_version, "published_version": version.number},
                code="version_conflict",
            )
        job = migration_start(workflow=workflow, to_version=version, plan=plan)
    outcome = PublishOutcome(plan=plan, version=version, migration=job)
    inline = apply_now if apply_now is not None else job.total <= INLINE_LIMIT or enqueue is None
    if inline:
        outcome.report = migration_apply(migration_id=job.pk, max_wait=30.0)
    elif enqueue is not None:
        enqueue(str(job.pk))
    job.refresh_from_db()
    return outcome


def migration_as_dict(job: VersionMigration) -> dict[str, Any]:
    return {
        "id": str(job.pk),
        "status": job.status,
        "total": job.total,
        "moved": job.moved,
        "exited": job.exited,
        "left": job.left,
        "from_versions": job.from_versions,
        "remaining": VersionMigrationItem.objects.filter(migration_id=job.pk).count(),
        "finished_at": job.finished_at,
    }


__all__ = [
    "EXIT",
    "MigrateRequest",
    "MigrationPlan",
    "migration_apply",
    "migration_plan",
    "migration_start",
    "migrations_resume",
    "workflow_publish_migrating",
]
