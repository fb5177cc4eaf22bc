"""Analytics beyond the totals: entries and goal conversions by day (kept as counters by day), and the chance that
each split variant is best."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ContactFactory
from tests.history.conftest import Failing
from tests.workflows.builders import run_due
from workflows.analytics import probability_best
from workflows.models import WorkflowDailyCounter

pytestmark = pytest.mark.django_db


def test_entries_are_counted_by_day_and_served_as_a_series(api, workspace):
    failing = Failing(workspace)
    failing.fix()
    failing.enroll(*[ContactFactory(workspace=workspace) for _ in range(3)])
    run_due()
    today = timezone.now().date()
    assert WorkflowDailyCounter.objects.get(key="entries", day=today).value == 3
    body = api.get(f"/api/v1/workflows/{failing.workflow.pk}/analytics").json()
    days = body["series"]["days"]
    # The workflow was made today: the default 30 days start at its creation.
    assert days == [{"day": today.isoformat(), "entries": 3, "goals": 0}]
    assert body["enrollments"]["completed"] == 3  # the contract's totals are unchanged
    WorkflowDailyCounter.objects.create(version=failing.workflow.versions.get(number=1), key="goals.reached",
                                        day=today - timedelta(days=2), value=4)
    type(failing.workflow).objects.filter(pk=failing.workflow.pk).update(created_at=timezone.now() - timedelta(days=9))
    week = api.get(f"/api/v1/workflows/{failing.workflow.pk}/analytics",
                   {"since": (today - timedelta(days=6)).isoformat(), "until": today.isoformat(), "version": 1})
    days = week.json()["series"]["days"]
    assert [d["entries"] for d in days] == [0] * 6 + [3] and [d["goals"] for d in days] == [0] * 4 + [4, 0, 0]


@pytest.mark.parametrize(("params", "field"), [({"since": "monday"}, "since"), ({"until": "2026-13-01"}, "until"),
                                               ({"since": "2026-11-22T10:00:00Z"}, "since")])
def test_malformed_days_are_a_400(api, workspace, params, field):
    failing = Failing(workspace)
    response = api.get(f"/api/v1/workflows/{failing.workflow.pk}/analytics", params)
    assert response.status_code == 400 and field in response.json()["error"]["details"]


def test_the_series_stays_within_the_workflow_s_life(api, workspace):
    failing = Failing(workspace)
    url = f"/api/v1/workflows/{failing.workflow.pk}/analytics"
    today = timezone.now().date().isoformat()
    whole = api.get(url, {"since": "0001-01-01", "until": "9999-12-31"}).json()["series"]
    assert (whole["since"], whole["until"], len(whole["days"])) == (today, today, 1)
    assert api.get(url, {"since": "2026-11-22", "until": "2026-11-01"}).json()["series"]["days"] == []


def test_split_tests_give_each_variant_its_rate_and_chance_of_being_best(api, workspace):
    from workflows.models import WorkflowCounter

    failing = Failing(workspace)
    version = failing.workflow.versions.get(number=1)
    for variant, entered, reached in (("A", 1000, 100), ("B", 1000, 120)):
        WorkflowCounter.objects.create(version=version, key=f"split.s.{variant}.entered", value=entered)
        WorkflowCounter.objects.create(version=version, key=f"split.s.{variant}.goal_reached", value=reached)
    test = api.get(f"/api/v1/workflows/{failing.workflow.pk}/analytics").json()["split_tests"]["s"]
    assert test["method"] == "exact"
    assert test["variants"]["B"]["rate"] == 0.12 and test["variants"]["A"]["entered"] == 1000
    assert 0.90 < test["variants"]["B"]["probability_best"] < 0.95
    assert test["variants"]["A"]["probability_best"] + test["variants"]["B"]["probability_best"] == pytest.approx(1)


def test_probability_best_agrees_between_exact_normal_and_monte_carlo():
    two = {"A": {"entered": 800, "goal_reached": 80}, "B": {"entered": 700, "goal_reached": 84}}
    exact = probability_best(two)
    sampled = probability_best({**two, "C": {"entered": 0, "goal_reached": 0}}, samples=4000)
    assert exact["B"] == pytest.approx(0.92, abs=0.03)
    # C has no data (its rate could be anything): it takes a share, A and B keep their order.
    assert sampled["B"] > sampled["A"]
    big = {"A": {"entered": 100_000, "goal_reached": 10_000}, "B": {"entered": 100_000, "goal_reached": 10_100}}
    assert probability_best(big)["B"] == pytest.approx(0.77, abs=0.01)
    assert probability_best({"A": {"entered": 10, "goal_reached": 1}, "B": {"entered": 10, "goal_reached": 1}}) == {
        "A": 0.5, "B": 0.5}


def test_analytics_are_read_from_the_counters_never_from_the_step_log(api, workspace):
    """Issue 16 (5): served from the incremental counters; a scan of step runs would not hold at 10,000,000."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflows.models import Enrollment, StepRun

    failing = Failing(workspace)
    failing.enroll(*[ContactFactory(workspace=workspace) for _ in range(2)])
    run_due()
    with CaptureQueriesContext(connection) as queries:
        body = api.get(f"/api/v1/workflows/{failing.workflow.pk}/analytics").json()
    assert body["enrollments"]["failed"] == 2 and body["nodes"]["c"]["failed"] == 2
    logs = (StepRun._meta.db_table, Enrollment._meta.db_table)
    assert not [q["sql"] for q in queries.captured_queries if any(f'"{table}"' in q["sql"] for table in logs)]
