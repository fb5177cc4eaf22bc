"""The analytics counters (`WorkflowCounter`): a batch's increments, and what one run counts.

Counters are per version: `enrollments.<status>` (how many enrollments are in each status), per step
`node.<id>.entered|succeeded|failed|waiting|goal_reached`, per split variant
`split.<id>.<variant>.entered|goal_reached` (and `split_goal.<id>.<variant>.<goal>`, which optimizing splits learn
from), per send step and channel `channel.<id>.<channel>.<measure>`
(`workflows.channel_analytics`), per trigger `trigger.<id>.not_entered` (a contact it could not judge) and
`trigger.<id>.skipped.<reason>` (an entry the re-enrollment rule or the batch refused), and `goals.reached` (the
goal credits are added by the runtime, which reads the converted enrollment's path). A batch adds its increments up
in `Counters` and writes them with one upsert.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any
from uuid import UUID

from django.db import connection

from workflows.channel_analytics import count_channel_steps
from workflows.engine.state import EnrollmentState, RunResult, WaitState
from workflows.engine.statuses import EnrollmentStatus
from workflows.live_updates import counters_changed
from workflows.models import WorkflowCounter, WorkflowDailyCounter

# Counters also kept by UTC day (WorkflowDailyCounter), for the analytics' time series.
DAILY_KEYS = frozenset({"entries", "goals.reached"})


class Counters:
    """Counter increments of one batch, written with one upsert (two when some are kept by day too)."""

    def __init__(self) -> None:
        self.deltas: Counter[tuple[UUID, str]] = Counter()

    def add(self, version_id: UUID, key: str, amount: int = 1) -> None:
        if amount:
            self.deltas[(version_id, key)] += amount

    def flush(self) -> None:
        items = [(vid, key, value) for (vid, key), value in self.deltas.items() if value]
        self.deltas.clear()
        if not items:
            return
        counters_changed(items)  # published to the live screens after commit, with the batch
        placeholders = ", ".join(["(%s, %s, %s)"] * len(items))
        params: list[Any] = [p for item in sorted(items) for p in item]
        daily = [(vid, key, value) for vid, key, value in sorted(items) if key in DAILY_KEYS]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {WorkflowCounter._meta.db_table} (version_id, key, value) VALUES {placeholders} "
                "ON CONFLICT (version_id, key) DO UPDATE SET value = "
                f"{WorkflowCounter._meta.db_table}.value + EXCLUDED.value",
                params,
            )
            if daily:
                table = WorkflowDailyCounter._meta.db_table
                cursor.execute(
                    f"INSERT INTO {table} (version_id, day, key, value) "
                    f"VALUES {', '.join(['(%s, (now() AT TIME ZONE %s)::date, %s, %s)'] * len(daily))} "
                    f"ON CONFLICT (version_id, day, key) DO UPDATE SET value = {table}.value + EXCLUDED.value",
                    [p for vid, key, value in daily for p in (vid, "UTC", key, value)],
                )


def split_goal_key(node_id: str, variant: str, goal: str) -> str:
    """Return the counter of one goal's conversions after a split variant (`split_goal.<id>.<variant>.<goal>`; a
    prefix of its own, so readers of `split.<id>.<variant>.<measure>` never meet it); a long goal name is shortened
    with a hash so the key fits its column."""
    if len(goal) > 80:
        goal = f"{goal[:60]}~{hashlib.sha256(goal.encode()).hexdigest()[:12]}"
    return f"split_goal.{node_id}.{variant}.{goal}"


def status_key(status: str) -> str:
    return f"enrollments.{status}"


def skipped_key(trigger_node_id: str, reason: str) -> str:
    """The counter of a trigger's entries skipped for `reason` (a StartReport code, such as `already_enrolled`)."""
    return f"trigger.{trigger_node_id}.skipped.{reason}"


def parked_wait(state: EnrollmentState) -> WaitState | None:
    """Return the wait a waiting enrollment is parked in at a node (a retry's wait counts as no node's)."""
    wait = state.wait
    return wait if state.status == EnrollmentStatus.WAITING and wait and not wait.retry else None


def parked_waits(state: EnrollmentState) -> list[WaitState]:
    """Return the waits an enrollment is parked in: its own and, while a parallel runs, each branch's."""
    waits = [parked_wait(state), *(parked_wait(branch) for branch in state.branches.values())]
    return [wait for wait in waits if wait is not None]


def count_run(counters: Counters, version_id: UUID, before: EnrollmentState, result: RunResult) -> None:
    """Count one run's steps per node. A parallel's branches count their own steps (a record's ``path`` says
    which branch it ran on); their arrivals at the merge and their cancellations are the history's, not counted:
    the merge counts the enrollment once, when it goes on."""
    after = result.state
    if before.status != after.status:
        counters.add(version_id, status_key(before.status), -1)
        counters.add(version_id, status_key(after.status), 1)
    parked_before = parked_wait(before)
    parked_by_path = {None: parked_before}
    parked_by_path.update((key, parked_wait(branch)) for key, branch in before.branches.items())
    seen_paths: set[str | None] = set()
    for record in result.records:
        path = record.detail.get("path")
        first = path not in seen_paths
        seen_paths.add(path)
        if record.outcome == "cancel" or record.detail.get("arrival"):
            continue
        parked = parked_by_path.get(path)
        at_parked = parked is not None and parked.node_id == record.node_id
        if at_parked and parked.detail.get("each"):
            continue  # a for_each going on along 'done': counted when it started its items
        if at_parked and "join" in parked.detail and record.outcome == "advance":
            at_parked = False  # the merge an enrollment waited at counts it as it goes on
        continuation = first and (at_parked or record.attempt > 0)
        if not continuation:
            counters.add(version_id, f"node.{record.node_id}.entered")
        if record.outcome in ("advance", "exit"):
            counters.add(version_id, f"node.{record.node_id}.succeeded")
        elif record.outcome == "fail":
            counters.add(version_id, f"node.{record.node_id}.failed")
        if record.type == "split" and record.outcome == "advance" and not continuation:
            counters.add(version_id, f"split.{record.node_id}.{record.branch}.entered")
    if result.records:
        for wait in parked_waits(before):
            counters.add(version_id, f"node.{wait.node_id}.waiting", -1)
        for wait in parked_waits(after):
            counters.add(version_id, f"node.{wait.node_id}.waiting", 1)
    if after.status == EnrollmentStatus.EXITED and after.goal and before.status != EnrollmentStatus.EXITED:
        counters.add(version_id, "goals.reached")
    count_channel_steps(counters, version_id, result.records, parked_before)
