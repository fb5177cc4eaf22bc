"""Segments through the API: create, list members, rename, delete; rules the evaluator does not know are refused."""

from __future__ import annotations

from tests.factories import ContactFactory


def test_segment_crud_and_members(api, workspace):
    ContactFactory(workspace=workspace, email="vip@x.test", tags=["vip"])
    ContactFactory(workspace=workspace, email="pleb@x.test", tags=[])
    response = api.post(
        "/api/v1/segments", {"name": "VIPs", "rule": {"in": ["vip", {"var": "contact.tags"}]}}, format="json"
    )
    assert response.status_code == 201, response.content
    segment_id = response.json()["id"]
    members = api.get(f"/api/v1/segments/{segment_id}/contacts").json()["results"]
    assert [m["email"] for m in members] == ["vip@x.test"]
    assert api.patch(f"/api/v1/segments/{segment_id}", {"name": "Very important"}, format="json").status_code == 200
    assert api.get(f"/api/v1/segments/{segment_id}").json()["name"] == "Very important"
    assert api.delete(f"/api/v1/segments/{segment_id}").status_code == 204


def test_segment_with_unknown_operator_is_refused(api):
    response = api.post("/api/v1/segments", {"name": "Bad", "rule": {"frobnicate": [1]}}, format="json")
    assert response.status_code == 400
    assert "frobnicate" in response.json()["error"]["details"]["rule"]
