"""GET /api/v1/executions: every filter, search, strict parameters, cursor pages; the detail's step log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ContactFactory
from tests.workflows.builders import run_due
from workflows.models import Enrollment

pytestmark = pytest.mark.django_db


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def history(workspace, failing):
    """Two failed executions of `failing` and one completed one of another workflow."""
    from tests.history.conftest import Failing

    ada, bob = ContactFactory(workspace=workspace, email="ada@lovelace.test"), ContactFactory(workspace=workspace)
    failing.enroll(ada, bob)
    other = Failing(workspace, name="Other")
    carol = ContactFactory(workspace=workspace, email="carol@example.com")
    other.fix()
    other.enroll(carol)
    run_due()
    rows = {e.contact_id: e for e in Enrollment.objects.all()}
    return {"ada": rows[ada.pk], "bob": rows[bob.pk], "carol": rows[carol.pk], "other": other.workflow}


def test_each_filter_narrows_the_list(api, history, failing):
    ada, bob, carol = history["ada"], history["bob"], history["carol"]
    everyone = {str(e.pk) for e in (ada, bob, carol)}
    assert _ids(api.get("/api/v1/executions")) == everyone
    assert _ids(api.get("/api/v1/executions", {"workflow": failing.workflow.pk})) == {str(ada.pk), str(bob.pk)}
    assert _ids(api.get("/api/v1/executions", {"workflow": failing.workflow.pk, "version": 1})) == {
        str(ada.pk), str(bob.pk)}
    assert _ids(api.get("/api/v1/executions", {"version": str(carol.version_id)})) == {str(carol.pk)}
    assert _ids(api.get("/api/v1/executions", {"status": "completed"})) == {str(carol.pk)}
    assert _ids(api.get("/api/v1/executions", {"contact": ada.contact_id})) == {str(ada.pk)}
    assert _ids(api.get("/api/v1/executions", {"node": "c"})) == {str(ada.pk), str(bob.pk)}
    assert _ids(api.get("/api/v1/executions", {"error_type": "PortError"})) == {str(ada.pk), str(bob.pk)}
    assert _ids(api.get("/api/v1/executions", {"error_type": "Other"})) == set()
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert _ids(api.get("/api/v1/executions", {"since": later})) == set()
    assert _ids(api.get("/api/v1/executions", {"until": later})) == everyone


def test_search_by_part_of_the_email_or_of_the_error_message(api, history):
    assert _ids(api.get("/api/v1/executions", {"q": "LOVELACE"})) == {str(history["ada"].pk)}
    word = history["ada"].error["message"].split()[1]
    assert len(word) >= 3
    assert _ids(api.get("/api/v1/executions", {"q": word})) == {str(history["ada"].pk), str(history["bob"].pk)}
    assert _ids(api.get("/api/v1/executions", {"q": "nobody-has-this"})) == set()


@pytest.mark.parametrize(("params", "field"), [
    ({"colour": "red"}, "colour"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-11-22T10:00:00"}, "until"),
    ({"status": "sleeping"}, "status"),
    ({"workflow": "nope"}, "workflow"),
    ({"version": "v3"}, "version"),
    ({"node": "x" * 201}, "node"),
    ({"q": "ab"}, "q"),
    ({"limit": "0"}, "limit"),
    ({"cursor": "garbage"}, "cursor"),
])
def test_bad_filters_are_a_400_in_the_contract_format(api, params, field):
    response = api.get("/api/v1/executions", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_a_filter_given_twice_is_a_400(api):
    response = api.get("/api/v1/executions?status=failed&status=active")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"status": "Give this parameter once."}


def test_cursor_pages_walk_the_list_newest_first_without_repeats(api, history):
    seen, url = [], "/api/v1/executions?limit=2"
    while url:
        page = api.get(url).json()
        seen += [row["entered_at"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == 3 and seen == sorted(seen, reverse=True)


def test_another_workspace_sees_none_of_it(other_api, history):
    assert _ids(other_api.get("/api/v1/executions")) == set()
    assert other_api.get(f"/api/v1/executions/{history['ada'].pk}").status_code == 404


def test_detail_has_the_step_log_with_errors_and_durations(api, history):
    body = api.get(f"/api/v1/executions/{history['ada'].pk}").json()
    assert [s["node_id"] for s in body["steps"]] == ["t", "c"]
    failed = body["steps"][1]
    assert failed["status"] == "failed" and failed["error"]["type"] == "PortError"
    assert failed["error"]["message"] and "traceback" in failed["error"]
    assert failed["attempt"] >= 1 and isinstance(failed["duration_ms"], int)
    assert isinstance(body["duration_ms"], int)


def test_detail_shows_the_values_behind_a_decision_its_branch_and_each_step_s_output(api, workspace):
    """Issue 16 (1): the step log carries the context a condition saw, its value and branch, and what a step did."""
    from tests.engine.graphs import edge, node
    from tests.workflows.builders import publish
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    nodes = [node("t", "trigger_manual"), node("c", "condition", {"rule": {">=": [{"var": "contact.score"}, 10]}}),
             node("y", "add_tag", {"tag": "high"}), node("n", "add_tag", {"tag": "low"})]
    workflow = publish(workspace, nodes, [edge("t", "c"), edge("c", "y", "yes"), edge("c", "n", "no")])
    contact = ContactFactory(workspace=workspace, score=12)
    enrollments_start(version=published_version_of(workflow), entries=[Entry(contact.pk, "t")])
    run_due()
    enrollment = Enrollment.objects.get(contact=contact)
    body = api.get(f"/api/v1/executions/{enrollment.pk}").json()
    steps = {step["node_id"]: step for step in body["steps"]}
    assert list(steps) == ["t", "c", "y"] and body["status"] == "completed"
    decision = steps["c"]
    assert decision["branch"] == "yes" and decision["status"] == "succeeded"
    assert decision["detail"]["seen"] == {"contact.score": 12}
    assert decision["detail"]["value"] is True and decision["detail"]["result"] is True
    assert steps["y"]["detail"] == {"tag": "high", "outcome": "advance"} and steps["y"]["error"] is None
