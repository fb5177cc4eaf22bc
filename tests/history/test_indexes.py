"""Each filter of the history is served by an index (EXPLAIN), in list order where the index has it: what keeps a
page cheap with 1,000,000 executions (`manage.py bench history` measures it at scale). The tables are seeded
(20,000 executions, analyzed) so that the planner chooses as it would with real selectivities."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from tests.factories import ContactFactory
from workflows.execution_query import ExecutionQuery, executions_matching

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture
def seeded(workspace):
    from bench._history_seed import seed_history

    return seed_history(workspace=workspace, executions=20_000, steps_per_execution=2)


def _plan(queryset) -> str:
    sql, params = queryset.order_by("-entered_at", "-id")[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_each_filter_has_its_index(workspace, seeded):
    from bench._history_seed import CONTACT_PREFIX, history_uuid

    (workflow, version), *_ = seeded
    cases = [
        (ExecutionQuery(), "enrollment_ws_entered"),
        (ExecutionQuery(since=NOW, until=NOW), "enrollment_ws_entered"),
        (ExecutionQuery(workflow=workflow), "enrollment_wf_entered"),
        (ExecutionQuery(version=version), "enrollment_version_entered"),
        (ExecutionQuery(status="failed"), "enrollment_ws_status_entered"),
        (ExecutionQuery(contact=uuid.UUID(history_uuid(CONTACT_PREFIX, 7))), "enrollment_contact"),
        (ExecutionQuery(node="n3"), "enrollment_ws_node_entered"),
        (ExecutionQuery(error_type="PortError"), "enrollment_ws_error_type"),
        (ExecutionQuery(q="unreachable"), "enrollment_error_trgm"),
    ]
    plans = {index: _plan(executions_matching(workspace=workspace, query=query)) for query, index in cases}
    assert {index: index in plan for index, plan in plans.items()} == {index: True for _, index in cases}, plans


def test_search_by_email_goes_through_the_contacts_trigram_index_then_by_contact(workspace, seeded):
    ContactFactory(workspace=workspace, email="ada@lovelace.test")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # 10,000 contacts read in one sweep cost less; not 500,000
        cursor.execute("EXPLAIN SELECT id FROM contacts_contact WHERE UPPER(email::text) LIKE UPPER('%lovelace%')")
        assert "contact_email_trgm" in "\n".join(row[0] for row in cursor.fetchall())
    plan = _plan(executions_matching(workspace=workspace, query=ExecutionQuery(q="lovelace")))
    assert "enrollment_contact" in plan and "enrollment_error_trgm" in plan
