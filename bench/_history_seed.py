"""Seed execution history fast, in SQL (generate_series): N executions over 20 workflows, 10 step runs each.

Shared by `manage.py bench history` and the index tests. Contacts are N/2 (each has two executions); 10 % of the
executions failed, with one of five error types at one of nine nodes and a message that names one of eight words;
15 % wait, 5 % are active (live ones only in the newer half, so that no contact is live twice in a workflow).
Ids are deterministic (`history_uuid`), so that a bench can name rows.
"""

from __future__ import annotations

import itertools

from django.db import connection

WORKFLOWS = 20
ERROR_TYPES = ["PortError", "TimeoutError", "TemplateError", "WebhookError", "ValidationError"]
WORDS = ["timeout", "refused", "mailbox", "quota", "unreachable", "malformed", "throttled", "expired"]
CONTACT_PREFIX, ENROLLMENT_PREFIX = "c0000000", "e0000000"


def history_uuid(prefix: str, number: int) -> str:
    return f"{prefix}-0000-4000-8000-{number:012x}"


def _sql_uuid(prefix: str, expression: str) -> str:
    return f"('{prefix}-0000-4000-8000-' || lpad(to_hex({expression}), 12, '0'))::uuid"


def _workflows(workspace) -> list[tuple]:
    """Publish WORKFLOWS workflows of a trigger and nine steps; return (workflow id, version id) pairs."""
    from workflows.services import workflow_create, workflow_publish

    nodes = [{"id": "t", "type": "trigger_manual", "data": {"config": {}}}]
    nodes += [{"id": f"n{k}", "type": "add_tag", "data": {"config": {"tag": f"t{k}"}}} for k in range(1, 10)]
    ids = [n["id"] for n in nodes]
    edges = [{"id": f"e{k}", "source": a, "target": b} for k, (a, b) in enumerate(itertools.pairwise(ids))]
    pairs = []
    for number in range(WORKFLOWS):
        workflow = workflow_create(workspace=workspace, name=f"History {number}",
                                   graph={"nodes": nodes, "edges": edges})
        pairs.append((workflow.pk, workflow_publish(workflow=workflow).pk))
    return pairs


def seed_history(*, workspace, executions: int, steps_per_execution: int = 10) -> list[tuple]:
    """Insert contacts, workflows, enrollments and step runs, then ANALYZE; return (workflow, version) ids."""
    from workflows.engine.state import STATE_FORMAT

    pairs = _workflows(workspace)
    # Not a multiple of WORKFLOWS: a contact's two executions are in two workflows (none is live twice in one).
    contacts = max(1, executions // 2 + 1)
    contacts += 1 if contacts % WORKFLOWS == 0 else 0
    workflow_ids = "(ARRAY[" + ",".join(f"'{w}'::uuid" for w, _ in pairs) + "])"
    version_ids = "(ARRAY[" + ",".join(f"'{v}'::uuid" for _, v in pairs) + "])"
    types = "(ARRAY[" + ",".join(f"'{t}'" for t in ERROR_TYPES) + "])"
    words = "(ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "])"
    span = 90 * 86400 / max(executions, 1)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO contacts_contact (id, workspace_id, created_at, updated_at, email, first_name, last_name,
                timezone, status, score, fields, tags, external_id)
            SELECT {_sql_uuid(CONTACT_PREFIX, 'i')}, %s, now(), now(), 'person' || i || '@example' || (i %% 97) || '.test',
                   'P', 'Q', '', 'subscribed', 0, '{{}}'::jsonb, '{{}}', NULL
            FROM generate_series(1, %s) AS i""", [workspace.pk, contacts])
        cursor.execute(f"""
            INSERT INTO workflows_enrollment (id, workspace_id, created_at, updated_at, workflow_id, version_id,
                contact_id, status, current_node_id, entered_at, next_run_at, finished_at, lease_owner,
                lease_expires_at, step_count, context, trigger_event_id, trigger_node_id, waiting_for, entry_key,
                goal, error, crashes)
            SELECT id, %s, at, at + interval '10 seconds', {workflow_ids}[1 + (i - 1) %% {WORKFLOWS}],
                   {version_ids}[1 + (i - 1) %% {WORKFLOWS}], contact, status, node, at,
                   CASE WHEN status = 'waiting' THEN now() + interval '3 days' END,
                   CASE WHEN status IN ('completed', 'exited', 'failed') THEN at + interval '10 seconds' END,
                   '', NULL, 10,
                   jsonb_build_object('format', {STATE_FORMAT}, 'enrollment_id', id::text, 'contact_id', contact::text,
                       'trigger_node', 't', 'entered_at', at, 'status', status, 'current_node', node,
                       'step_count', 10, 'visits', jsonb_build_object('t', 1), 'attempt', 0, 'seed', i),
                   NULL, 't', '', i::text, '',
                   CASE WHEN status = 'failed' THEN jsonb_build_object('type', {types}[1 + i %% 5],
                       'message', 'Step failed: ' || {words}[1 + (i / 7) %% 8] || ' after 3 attempts (#' || i || ')',
                       'node_id', node) END, 0
            FROM (
                SELECT i, {_sql_uuid(ENROLLMENT_PREFIX, 'i')} AS id,
                       {_sql_uuid(CONTACT_PREFIX, '1 + (i - 1) %% ' + str(contacts))} AS contact,
                       now() - ({executions} - i) * interval '{span} seconds' AS at,
                       CASE WHEN i %% 20 IN (0, 1) THEN 'failed'
                            WHEN i %% 20 IN (2, 3, 4) AND i > {executions - contacts} THEN 'waiting'
                            WHEN i %% 20 = 5 AND i > {executions - contacts} THEN 'active'
                            WHEN i %% 20 = 6 THEN 'exited' ELSE 'completed' END AS status,
                       CASE WHEN i %% 20 IN (0, 1) THEN 'n' || (1 + i %% 9) WHEN i %% 20 IN (2, 3, 4) THEN 'n5'
                            ELSE 'n9' END AS node
                FROM generate_series(1, {executions}) AS i
            ) AS rows""", [workspace.pk])
        cursor.execute(f"""
            INSERT INTO workflows_steprun (id, enrollment_id, node_id, type, attempt, visit, status, branch, detail,
                error_type, error_message, error_traceback, started_at, finished_at)
            SELECT gen_random_uuid(), e.id, CASE WHEN k = 1 THEN 't' ELSE 'n' || (k - 1) END,
                   CASE WHEN k = 1 THEN 'trigger_manual' ELSE 'add_tag' END, 1, 1,
                   CASE WHEN e.status = 'failed' AND k = {steps_per_execution} THEN 'failed' ELSE 'succeeded' END,
                   '', '{{"outcome": "advance"}}'::jsonb,
                   CASE WHEN e.status = 'failed' AND k = {steps_per_execution} THEN e.error->>'type' ELSE '' END,
                   CASE WHEN e.status = 'failed' AND k = {steps_per_execution} THEN e.error->>'message' ELSE '' END,
                   '', e.entered_at + k * interval '1 second', e.entered_at + k * interval '1 second'
            FROM workflows_enrollment e CROSS JOIN generate_series(1, {steps_per_execution}) AS k
            WHERE e.workspace_id = %s""", [workspace.pk])
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE workflows_enrollment")
        cursor.execute("ANALYZE workflows_steprun")
    return pairs
