"""The step log (`StepRun`): a row per step an enrollment ran; one statement writes a whole batch's rows."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec

from penguinflow.common.db import prepared_cursor
from workflows.engine.state import StepRecord
from workflows.models import StepRun

# The step log's own statuses (StepRun.Status), by the outcome of the step: not an enrollment's status.
_STEP_STATUS = {"advance": "succeeded", "exit": "succeeded", "wait": "waiting", "retry": "failed", "fail": "failed",
                "cancel": "skipped"}  # a parallel branch stopped because the others went on


_json = msgspec.json.Encoder(decimal_format="number").encode


def step_runs_insert(runs: list[tuple[UUID, StepRecord]]) -> None:
    """Write the step log of a batch in one statement (the hot path: one row per step executed).

    Rows go in list order, so the sequence column keeps the order of steps within each enrollment.
    """
    if not runs:
        return
    columns: list[list[Any]] = [[] for _ in range(13)]
    for enrollment_id, record in runs:
        error = record.error or {}
        detail = dict(record.detail)
        detail["outcome"] = record.outcome
        for column, value in zip(columns, (
            uuid.uuid4(), enrollment_id, record.node_id, record.type, record.attempt + 1, record.visit,
            _STEP_STATUS.get(record.outcome, "failed"), record.branch or "",
            _json(detail).decode(), str(error.get("type", ""))[:200], str(error.get("message", "")),
            str(error.get("traceback", "")), record.at,
        ), strict=True):
            column.append(value)
    with prepared_cursor() as cursor:  # binds on the server, so the arrays go in binary (penguinflow.common.db)
        cursor.execute(
            f"""
            INSERT INTO {StepRun._meta.db_table} (id, enrollment_id, node_id, type, attempt, visit, status, branch,
                detail, error_type, error_message, error_traceback, started_at, finished_at)
            SELECT id, enrollment_id, node_id, type, attempt, visit, status, branch, detail::jsonb, error_type,
                   error_message, error_traceback, at, at
            FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::text[], %b::int[], %b::int[], %b::text[],
                        %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])
                AS v(id, enrollment_id, node_id, type, attempt, visit, status, branch, detail, error_type,
                     error_message, error_traceback, at)
            """,
            columns,
        )

