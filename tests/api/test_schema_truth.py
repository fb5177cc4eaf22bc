"""What the schema promises, the API does: the defects the schema fuzz found, each pinned by a plain test."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.api.test_errors import assert_error


@pytest.mark.parametrize("limit", ["abc", "-1", "0", "501", "1.5", "\u0661"])
@pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/events", "/api/v1/workflows"])
def test_a_limit_outside_1_to_500_is_refused_not_ignored(api, path, limit):
    error = assert_error(api.get(path, {"limit": limit}), 400, "validation_error")
    assert error["details"] == {"limit": "Must be a whole number from 1 to 500."}


def test_a_limit_inside_the_bounds_is_taken(api, workspace):
    from tests.factories import ContactFactory

    ContactFactory.create_batch(3, workspace=workspace)
    assert len(api.get("/api/v1/contacts", {"limit": "2"}).json()["results"]) == 2


@pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/events"])
def test_a_cursor_that_is_not_ours_is_a_400(api, path):
    assert_error(api.get(path, {"cursor": "not a cursor!"}), 400, "validation_error")


def test_an_empty_cursor_reads_the_first_page(api):
    assert api.get("/api/v1/contacts", {"cursor": ""}).status_code == 200


@pytest.mark.parametrize("value", [123, 1.5, True])
def test_text_fields_take_strings_only(api, value):
    error = assert_error(api.post("/api/v1/campaigns", {"name": "Spring", "description": value}, format="json"),
                         400, "validation_error")
    assert set(error["details"]) == {"description"}
    error = assert_error(api.post("/api/v1/workflows", {"name": value}, format="json"), 400, "validation_error")
    assert set(error["details"]) == {"name"}


def test_a_blank_name_is_refused_after_trimming(api):
    assert_error(api.post("/api/v1/campaigns", {"name": "   "}, format="json"), 400, "validation_error")


def test_put_contact_needs_its_email_and_keeps_what_it_leaves_out(api, workspace):
    from tests.factories import ContactFactory

    contact = ContactFactory(workspace=workspace, email="ada@example.test", first_name="Ada")
    error = assert_error(api.put(f"/api/v1/contacts/{contact.pk}", {}, format="json"), 400, "validation_error")
    assert set(error["details"]) == {"email"}
    response = api.put(f"/api/v1/contacts/{contact.pk}", {"email": "ada@example.test", "last_name": "Lovelace"},
                       format="json")
    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["last_name"]) == ("Ada", "Lovelace")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/jsonl", "application/json-patch+json"])
def test_events_without_a_json_content_type_are_refused_with_415(api, content_type):
    from events.models import Event

    body = b'{"type": "page.viewed", "contact": {"email": "ada@example.test"}}'
    extra = {"CONTENT_TYPE": content_type} if content_type else {}
    response = api.generic("POST", "/api/v1/events", body, content_type=None, **extra)
    assert_error(response, 415, "unsupported_media_type")
    assert Event.objects.count() == 0


def test_events_with_a_charset_are_taken(api):
    body = b'{"type": "page.viewed", "contact": {"email": "ada@example.test"}}'
    response = api.generic("POST", "/api/v1/events", body, content_type="application/json; charset=utf-8")
    assert response.status_code == 202, response.content


def test_an_event_listing_bound_with_an_offset_postgresql_cannot_hold_is_read_in_utc(api):
    response = api.get("/api/v1/events", {"since": "2026-11-22T10:00:00-22:30"})
    assert response.status_code == 200, response.content
    assert_error(api.get("/api/v1/events", {"since": "0001-01-01T00:00:00+05:00"}), 400, "validation_error")


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_api_route_answers_the_contract_404(api, debug, method):
    with override_settings(DEBUG=debug):
        response = getattr(api, method)("/api/v2/nothing/here")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


def test_an_api_route_without_its_slash_still_redirects(client):
    response = client.get("/api/schema")
    assert (response.status_code, response["Location"]) == (301, "/api/schema/")


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/v1/events"])
def test_a_method_a_route_does_not_take_answers_405_in_json(api, path):
    response = api.put(path, {}, format="json")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 405, "method_not_allowed")


def test_graph_texts_longer_than_their_columns_are_a_400_not_a_500(api):
    nodes = [{"id": "n" * 65, "type": "trigger_manual"}, {"id": "b", "type": "add_tag", "data": {"label": "l" * 201}}]
    edges = [{"id": "e", "source": "a", "target": "b", "sourceHandle": "h" * 65}]
    error = assert_error(api.post("/api/v1/workflows", {"name": "W", "graph": {"nodes": nodes, "edges": edges}},
                                  format="json"), 400, "graph_invalid")
    assert set(error["details"]) == {"graph.nodes[0].id", "graph.nodes[1].data.label", "graph.edges[0].sourceHandle"}


@pytest.mark.parametrize("field", ["graph", "settings"])
@pytest.mark.parametrize("value", [False, 0, "", []])
def test_graph_and_settings_must_be_objects(api, field, value):
    error = assert_error(api.post("/api/v1/workflows", {"name": "W", field: value}, format="json"),
                         400, "validation_error")
    assert set(error["details"]) == {field}


def test_version_numbers_past_postgresqls_integers_are_refused_not_a_500(api):
    workflow = api.post("/api/v1/workflows", {"name": "W"}, format="json").json()
    huge = "9" * 20
    assert_error(api.get(f"/api/v1/workflows/{workflow['id']}/analytics", {"version": huge}), 400)
    assert_error(api.get(f"/api/v1/workflows/{workflow['id']}/versions/{huge}"), 404, "not_found")


def test_workflow_versions_are_a_plain_list(api):
    workflow = api.post("/api/v1/workflows", {"name": "W"}, format="json").json()
    assert api.get(f"/api/v1/workflows/{workflow['id']}/versions").json() == []


@pytest.mark.parametrize("body", [{"start": 0}, {"start": "1700000000"}, {"start": "2026-11-22T10:00:00"},
                                  {"events": [{"type": "email.opened", "at": 0}]}, {"events": {}}, {"contact": []}])
def test_simulation_moments_are_iso_timestamps_with_a_zone_not_unix_numbers(api, body):
    workflow = api.post("/api/v1/workflows", {"name": "W"}, format="json").json()
    error = assert_error(api.post(f"/api/v1/workflows/{workflow['id']}/simulate", body, format="json"),
                         400, "validation_error")
    assert set(error["details"]) <= {"start", "events[0].at", "events", "contact"}


def test_validate_refuses_a_graph_no_draft_could_store(api):
    workflow = api.post("/api/v1/workflows", {"name": "W"}, format="json").json()
    graph = {"nodes": [], "edges": [{"id": "e", "source": "a", "target": "b", "sourceHandle": "h" * 65}]}
    error = assert_error(api.post(f"/api/v1/workflows/{workflow['id']}/validate", {"graph": graph}, format="json"),
                         400, "graph_invalid")
    assert set(error["details"]) == {"graph.edges[0].sourceHandle"}


def test_workflow_versions_page_by_number_newest_first(api, workspace):
    from tests.engine.graphs import chain, node
    from tests.workflows.builders import publish
    from workflows.services import workflow_publish

    workflow = publish(workspace, [node("t", "trigger_manual"), node("d", "delay", {"duration": "P1D"})],
                       chain("t", "d"))
    for _ in range(3):
        workflow_publish(workflow=workflow)
    versions = f"/api/v1/workflows/{workflow.pk}/versions"

    assert [v["number"] for v in api.get(versions).json()] == [4, 3, 2, 1]
    assert [v["number"] for v in api.get(versions, {"limit": 2}).json()] == [4, 3]
    assert [v["number"] for v in api.get(versions, {"limit": 2, "before": 3}).json()] == [2, 1]
    for bad in ({"limit": 0}, {"limit": 501}, {"before": "x"}, {"q": "a"}):
        assert_error(api.get(versions, bad), 400)
