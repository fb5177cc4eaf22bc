"""Bad input to the history's API answers a 4xx in the contract's error format, never a 500 (issue 16)."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import ContactFactory
from tests.history.conftest import Failing
from tests.workflows.builders import run_due
from workflows.models import Enrollment

pytestmark = [pytest.mark.django_db, pytest.mark.hostile]


@pytest.fixture
def failed(workspace):
    failing = Failing(workspace)
    failing.enroll(ContactFactory(workspace=workspace))
    run_due()
    return Enrollment.objects.get(workflow=failing.workflow)


def _refused(response, status=400):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


@pytest.mark.parametrize("params", [
    {"since": "2026-02-30T10:00:00Z"}, {"since": "99999-01-01T00:00:00Z"}, {"until": "2026-11-22T10:00:00+25:00"},
    {"since": "0001-01-01T00:00:00+01:00"}, {"q": "ab\x00c"}, {"contact": "123"}, {"version": "0"},
    {"version": "99999999999"}, {"limit": "abc"}, {"dry_run": "true"}, {"status": ["failed", "active"]},
])
def test_malformed_list_and_export_filters_are_a_400(api, params):
    for path in ("/api/v1/executions", "/api/v1/executions/export.csv"):
        _refused(api.get(path, params))


@pytest.mark.parametrize("body", [
    [], "filters", {"since": "yesterday"}, {"status": None}, {"status": 3}, {"colour": "red"}, {"dry_run": "yes"},
    {"from": "middle"}, {"version": "newest"}, {"q": "a" * 201}, {"workflow": ["x"]},
])
def test_malformed_bulk_bodies_are_a_400(api, body):
    for action in ("retry", "cancel"):
        if action == "cancel" and isinstance(body, dict) and {"from", "version"} & set(body):
            continue  # retry's own options
        _refused(api.post(f"/api/v1/executions/{action}", body, format="json"))


def test_bad_one_execution_requests(api, other_api, failed):
    assert _refused(api.get("/api/v1/executions/not-a-uuid"), 404)["code"] == "not_found"
    assert _refused(api.post(f"/api/v1/executions/{uuid.uuid4()}/retry", {}, format="json"), 404)
    assert _refused(other_api.post(f"/api/v1/executions/{failed.pk}/cancel"), 404)
    _refused(api.post(f"/api/v1/executions/{failed.pk}/retry", ["start"], format="json"))
    _refused(api.post(f"/api/v1/executions/{failed.pk}/retry", {"from": None}, format="json"))
    _refused(api.post(f"/api/v1/executions/{failed.pk}/retry", "{", content_type="application/json"))


def test_bad_timeline_and_analytics_queries(api, workspace, failed):
    timeline = f"/api/v1/contacts/{failed.contact_id}/timeline"
    for params in ({"kind": "step", "workflow": "x"}, {"limit": "-1"}, {"kind": ["event", "step"]}):
        _refused(api.get(timeline, params))
    analytics = f"/api/v1/workflows/{failed.workflow_id}/analytics"
    for params in ({"version": "abc"}, {"version": "-1"}, {"since": "2026-02-30"}, {"until": "99999-01-01"},
                   {"colour": "red"}, {"sinse": "2026-11-01"}, {"version": ["1", "2"]}):
        _refused(api.get(analytics, params))
    assert "no published version 7" in _refused(api.get(analytics, {"version": "7"}), 404)["message"]


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_unknown_routes_under_the_api_answer_the_contract_404(api, method):
    for path in ("/api/v1/executions/export.json", "/api/v1/contacts/x/timelines", "/api/v1/executions/retry/now"):
        response = getattr(api, method)(path)
        assert response["Content-Type"].startswith("application/json"), (path, response["Content-Type"])
        assert response.status_code in (404, 405), (path, response.status_code)
        _refused(response, response.status_code)
