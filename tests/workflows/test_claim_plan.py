"""The due claim walks enrollment_due_live in next_run_at order and stops at its LIMIT, on a table as the soak left
it: unanalyzed, with the index full of entries of finished enrollments (workflows.scheduler)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.plans import executed_plans, plan_of
from tests.workflows.builders import publish
from workflows.models import Workflow
from workflows.scheduler import enrollments_claim_due

ENROLLMENTS = 3000  # enough for the plan PostgreSQL picks without statistics to be the soak's


def _contacts_like(contact, count: int) -> list:
    """`count` new contacts of the contact's workspace, copied from it in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact SELECT (jsonb_populate_record(NULL::contacts_contact, to_jsonb(c) || "
            "jsonb_build_object('id', gen_random_uuid(), 'email', 'copy' || g || '@claim.test', 'external_id', "
            "NULL))).* FROM contacts_contact c, generate_series(1, %s) g WHERE c.id = %s RETURNING id",
            [count, contact.pk])
        return [row[0] for row in cursor.fetchall()]


def _enrollments(workflow, contacts: list, due) -> None:
    """Live, due enrollments (oldest first in list order), then as many finished: written due, then finished, as
    the runtime does, so that the index keeps their dead entries (no vacuum runs here)."""
    version = workflow.versions.get(number=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO workflows_enrollment (id, workspace_id, created_at, updated_at, workflow_id, version_id, "
            "contact_id, status, current_node_id, entered_at, next_run_at, lease_owner, step_count, context, "
            "trigger_node_id, waiting_for, entry_key, goal, crashes) "
            "SELECT gen_random_uuid(), %s, %s, %s, %s, %s, c, 'active', 't', %s, %s + g * interval '1 ms', '', 0, "
            "'{}', 't', '', gen_random_uuid()::text, '', 0 FROM unnest(%s::uuid[]) WITH ORDINALITY AS v(c, g)",
            [workflow.workspace_id, due, due, workflow.pk, version.pk, due, due, contacts])
        cursor.execute("UPDATE workflows_enrollment SET status = 'completed', finished_at = now() "
                       "WHERE id IN (SELECT id FROM workflows_enrollment ORDER BY next_run_at LIMIT %s)",
                       [len(contacts) // 2])


def test_the_claim_walks_the_due_index_and_stops_at_its_limit(workspace):
    nodes, edges = [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a")
    workflow, paused = publish(workspace, nodes, edges), publish(workspace, nodes, edges, name="P")
    contacts = _contacts_like(ContactFactory(workspace=workspace), ENROLLMENTS)
    now = timezone.now()
    _enrollments(paused, contacts[:100], now - timedelta(days=2))  # due first, but their workflow is paused
    Workflow.objects.filter(pk=paused.pk).update(status=Workflow.Status.PAUSED)
    _enrollments(workflow, contacts, now - timedelta(days=1))
    with connection.cursor() as cursor:
        # Whatever the planner's costs (these make it prefer a bitmap scan, or a sequential one, and a sort).
        cursor.execute("SET LOCAL random_page_cost = 40")
    with executed_plans() as plans:
        claimed = enrollments_claim_due(limit=10, owner=f"test:{uuid.uuid4().hex}", now=now)
    plan = plan_of(plans, "WITH due AS")
    assert "Index Scan using enrollment_due_live" in plan, plan
    assert "Bitmap" not in plan and "Sort" not in plan, plan
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM workflows_enrollment WHERE workflow_id = %s AND status = 'active' "
                       "ORDER BY next_run_at LIMIT 10", [workflow.pk])
        assert sorted(claimed) == sorted(row[0] for row in cursor.fetchall())
