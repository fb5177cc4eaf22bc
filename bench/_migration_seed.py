"""Seed live enrollments of one published version fast, in SQL (generate_series): shared by `manage.py bench
migration` and the crash tests of migrations.

Each enrollment waits at one of the given wait nodes (in turn) on a delay that started a minute ago and is due in
three days, with the engine's state as the runtime writes it; a tenth are active at the node after instead
(`active_node`), as if a step were due now.
"""

from __future__ import annotations

from django.db import connection

CONTACT_PREFIX, ENROLLMENT_PREFIX = "c1000000", "e1000000"


def _sql_uuid(prefix: str, expression: str) -> str:
    return f"('{prefix}-0000-4000-8000-' || lpad(to_hex({expression}), 12, '0'))::uuid"


def seed_live_enrollments(
    *, workspace, workflow_id, version_id, count: int, wait_nodes: list[str], active_node: str | None = None
) -> None:
    """Insert `count` contacts and their live enrollments in the version, then ANALYZE."""
    from workflows.engine.state import STATE_FORMAT

    nodes = "(ARRAY[" + ",".join(f"'{n}'" for n in wait_nodes) + "])"
    active = f"'{active_node}'" if active_node else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO contacts_contact (id, workspace_id, created_at, updated_at, email, first_name, last_name,
                timezone, status, score, fields, tags, external_id)
            SELECT {_sql_uuid(CONTACT_PREFIX, "i")}, %s, now(), now(), 'moved' || i || '@example.test',
                   'M', 'N', '', 'subscribed', 0, '{{}}'::jsonb, '{{}}', NULL
            FROM generate_series(1, %s) AS i""",
            [workspace.pk, count],
        )
        cursor.execute(
            f"""
            INSERT INTO workflows_enrollment (id, workspace_id, created_at, updated_at, workflow_id, version_id,
                contact_id, status, current_node_id, entered_at, next_run_at, finished_at, lease_owner,
                lease_expires_at, step_count, context, trigger_event_id, trigger_node_id, waiting_for, entry_key,
                goal, error, crashes)
            SELECT id, %(workspace)s, since, since, %(workflow)s, %(version)s, contact, status, node, since,
                   CASE WHEN status = 'waiting' THEN since + interval '3 days' ELSE since END, NULL, '', NULL, 2,
                   jsonb_build_object('format', {STATE_FORMAT}, 'enrollment_id', id::text,
                       'contact_id', contact::text, 'trigger_node', 't', 'entered_at', since, 'status', status,
                       'current_node', node, 'step_count', 2, 'visits', jsonb_build_object('t', 1, node, 1),
                       'attempt', 0, 'seed', i,
                       'wait', CASE WHEN status = 'waiting' THEN jsonb_build_object('node_id', node, 'since', since,
                           'until', since + interval '3 days', 'event', NULL, 'timeout_at', NULL, 'retry', false,
                           'detail', '{{}}'::jsonb) END),
                   NULL, 't', '', 'once', '', NULL, 0
            FROM (
                SELECT i, {_sql_uuid(ENROLLMENT_PREFIX, "i")} AS id, {_sql_uuid(CONTACT_PREFIX, "i")} AS contact,
                       now() - interval '1 minute' AS since,
                       CASE WHEN {active} IS NOT NULL AND i %% 10 = 0 THEN 'active' ELSE 'waiting' END AS status,
                       CASE WHEN {active} IS NOT NULL AND i %% 10 = 0 THEN {active}
                            ELSE {nodes}[1 + i %% cardinality({nodes})] END AS node
                FROM generate_series(1, %(count)s) AS i
            ) AS rows""",
            {"workspace": workspace.pk, "workflow": workflow_id, "version": version_id, "count": count},
        )
        # The analytics counters the runtime would have kept for them (a migration moves these too).
        cursor.execute(
            """
            INSERT INTO workflows_workflowcounter (version_id, key, value)
            SELECT version_id, key, count(*) FROM workflows_enrollment e,
                   LATERAL (VALUES ('enrollments.' || e.status),
                                   (CASE WHEN e.status = 'waiting' THEN 'node.' || e.current_node_id || '.waiting' END))
                           AS k(key)
            WHERE e.version_id = %s AND key IS NOT NULL GROUP BY 1, 2
            ON CONFLICT (version_id, key) DO UPDATE SET value = workflows_workflowcounter.value + EXCLUDED.value
        """,
            [version_id],
        )
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE workflows_enrollment")
