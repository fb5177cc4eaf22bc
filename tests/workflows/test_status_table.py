"""The Django side spells enrollment statuses from the engine's one table: choices, constraints and claim SQL."""

from __future__ import annotations

from workflows import scheduler
from workflows.engine.statuses import LIVE_STATUSES, TRANSITIONS, EnrollmentStatus
from workflows.models import Enrollment


def test_the_model_choices_and_sets_are_the_table() -> None:
    assert Enrollment.Status.choices == [(status.value, status.label) for status in EnrollmentStatus]
    assert Enrollment.LIVE_STATUSES == (Enrollment.Status.ACTIVE, Enrollment.Status.WAITING)
    assert Enrollment.TRANSITIONS is TRANSITIONS
    assert Enrollment._meta.get_field("status").default == EnrollmentStatus.ACTIVE


def test_the_live_conditions_of_the_database_are_the_live_statuses() -> None:
    live = [status.value for status in LIVE_STATUSES]
    conditions = [c.condition for c in Enrollment._meta.constraints if c.name == "enrollment_one_live_per_contact"]
    conditions += [i.condition for i in Enrollment._meta.indexes if i.name == "enrollment_due_live"]
    assert [dict(condition.children) for condition in conditions] == [{"status__in": live}] * 2


def test_the_claim_walks_the_live_statuses() -> None:
    assert "WHERE e.status IN ('active', 'waiting')" in scheduler._CLAIM_SQL
    assert "WHERE w.id = e.workflow_id) IN ('active', 'archived')" in scheduler._CLAIM_SQL
