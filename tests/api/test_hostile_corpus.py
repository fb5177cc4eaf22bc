"""Hostile input answers a clear 4xx in the contract's error format and writes nothing (CONTRACT §2, issue 12).

The corpus: JSON nested a thousand levels deep, time zones that are tzdata directories, NUL characters and unpaired
surrogates, integers and floats that JSON readers cannot round-trip, timestamps outside years 1-9999. Most cases
were a 500 or a silent write of something nothing could read back; the few that already answered 4xx are kept so
that they stay that way. The event cases are sent to both front doors of `POST /api/v1/events`: the Django view
and the ASGI fast path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.db import connection
from django.db.models import Max, Sum
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign
from contacts.models import Contact, Segment
from events.models import Event, EventKey
from templates.models import EmailTemplate
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory, EmailTemplateFactory, SegmentFactory
from tests.workflows.builders import publish
from workflows.models import Connection, Enrollment, Step, Workflow, WorkflowVersion

pytestmark = pytest.mark.hostile


DEEP = 1000  # deeper than Python's recursion limit: every recursive reader of it used to blow the stack
DEEPISH = 100  # readable by a recursive reader, but over the 64 levels user JSON may nest


def nested_list(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def nested_rule(depth: int) -> str:
    """A JsonLogic rule `{"!": {"!": ... true}}` nested `depth` levels."""
    return '{"!":' * depth + "true" + "}" * depth


def graph_with(config: str = "{}", node_id: str = '"a"') -> str:
    return (
        '{"nodes": [{"id": "t", "type": "trigger_manual", "position": {"x": 0, "y": 0}, "data": {"config": {}}},'
        f' {{"id": {node_id}, "type": "add_tag", "position": {{"x": 0, "y": 100}}, "data": {{"config": {config}}}}}],'
        ' "edges": []}'
    )


def delay_graph(window_zone: str) -> dict:
    return {"nodes": [node("t", "trigger_manual"),
                      node("d", "delay", {"duration": "P1D", "window": {"timezone": window_zone}})],
            "edges": chain("t", "d")}


def event_body(**fields: str) -> str:
    """A single event as JSON text; each keyword is a field's JSON text."""
    parts = {"type": '"order.completed"', "contact": '{"email": "ada@example.com"}', **fields}
    return "{" + ", ".join(f'"{name}": {text}' for name, text in parts.items()) + "}"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # may name {contact}, {segment}, {template}, {workflow}, {token}
    body: str
    status: int = 400


TOO_BIG = str(2**63)
TOO_SMALL = str(-(2**63) - 1)
NUL = r"\u0000"  # JSON escapes: the request carries them as written


def contact(members: str) -> str:
    return '{"email": "hostile@example.com", ' + members + "}"


def workflow(members: str) -> str:
    return '{"name": "Hostile", ' + members + "}"


def draft(members: str) -> str:
    return '{"revision": 1, "graph": ' + graph_with() + ", " + members + "}"


def draft_graph(graph: str) -> str:
    return '{"revision": 1, "graph": ' + graph + "}"


def hook(properties: str) -> str:
    return '{"contact": {"email": "hooked@example.com"}, "properties": ' + properties + "}"


def member(name: str, value: str) -> str:
    """`"name": value` (name is JSON string content, value JSON text), inside an object."""
    return '{"' + name + '": ' + value + "}"


CASES = [
    # 1. JSON nested far too deep, at every door that takes JSON.
    Case("contact_fields_deep", "POST", "/api/v1/contacts", contact('"fields": ' + member("x", nested_list(DEEP)))),
    Case("contact_fields_deepish", "POST", "/api/v1/contacts",
         contact('"fields": ' + member("x", nested_list(DEEPISH)))),
    Case("contact_body_deep_objects", "POST", "/api/v1/contacts", '{"a":' * DEEP + "1" + "}" * DEEP),
    Case("contact_patch_fields_deep", "PATCH", "/api/v1/contacts/{contact}",
         member("fields", member("x", nested_list(DEEP)))),
    Case("template_deep", "POST", "/api/v1/templates",
         '{"name": "t", "subject": "s", "html": "<p>h</p>", "text": ' + nested_list(DEEP) + "}"),
    Case("template_preview_deep", "POST", "/api/v1/templates/{template}/preview",
         member("contact", member("x", nested_list(DEEP)))),
    Case("segment_rule_deep", "POST", "/api/v1/segments", '{"name": "s", "rule": ' + nested_rule(DEEP) + "}"),
    Case("segment_patch_rule_deep", "PATCH", "/api/v1/segments/{segment}", member("rule", nested_rule(DEEP))),
    Case("workflow_graph_deep", "POST", "/api/v1/workflows",
         workflow('"graph": ' + graph_with(config=member("tag", nested_list(DEEP))))),
    Case("workflow_graph_deepish", "POST", "/api/v1/workflows",
         workflow('"graph": ' + graph_with(config=member("tag", nested_list(DEEPISH))))),
    Case("workflow_settings_deep", "POST", "/api/v1/workflows",
         workflow('"settings": ' + member("x", nested_list(DEEP)))),
    Case("draft_graph_deep", "PUT", "/api/v1/workflows/{workflow}/draft",
         draft_graph(graph_with(config=member("tag", nested_list(DEEP))))),
    Case("draft_settings_deep", "PUT", "/api/v1/workflows/{workflow}/draft",
         draft('"settings": ' + member("x", nested_list(DEEP)))),
    Case("validate_graph_deep", "POST", "/api/v1/workflows/{workflow}/validate",
         member("graph", graph_with(config=member("tag", nested_list(DEEP))))),
    Case("simulate_events_deep", "POST", "/api/v1/workflows/{workflow}/simulate",
         '{"contact": {"email": "a@b.test"}, "events": ' + nested_list(DEEP) + "}"),
    Case("hook_properties_deep", "POST", "/api/v1/hooks/workflows/{token}", hook(member("x", nested_list(DEEP)))),
    Case("hook_properties_deepish", "POST", "/api/v1/hooks/workflows/{token}",
         hook(member("x", nested_list(DEEPISH)))),
    Case("event_properties_deep", "POST", "/api/v1/events",
         event_body(properties=member("x", nested_list(DEEP)))),
    Case("event_properties_deepish", "POST", "/api/v1/events",
         event_body(properties=member("x", nested_list(DEEPISH)))),
    Case("event_batch_deep", "POST", "/api/v1/events",
         '{"events": [' + event_body(properties=member("x", nested_list(DEEP))) + "]}"),
    Case("event_body_deep", "POST", "/api/v1/events", nested_list(DEEP)),
    # 2. Time zones that are tzdata directories, or files that are not IANA zone names.
    *(Case(f"contact_timezone_{name}", "POST", "/api/v1/contacts", contact(f'"timezone": "{name}"'))
      for name in ("America", "Etc", "America/Argentina", "posix/Europe/Paris", "Factory", "localtime")),
    Case("contact_patch_timezone_directory", "PATCH", "/api/v1/contacts/{contact}", '{"timezone": "America"}'),
    *(Case(f"workflow_settings_timezone_{name}", "POST", "/api/v1/workflows",
           workflow('"settings": ' + member("timezone", f'"{name}"')))
      for name in ("America", "Etc", "America/Argentina", "posix/Europe/Paris", "Factory")),
    Case("draft_settings_timezone_directory", "PUT", "/api/v1/workflows/{workflow}/draft",
         draft('"settings": {"timezone": "Etc"}')),
    Case("validate_settings_timezone_directory", "POST", "/api/v1/workflows/{workflow}/validate",
         '{"settings": {"timezone": "America/Argentina"}}'),
    # 3. NUL characters and unpaired surrogates, which PostgreSQL cannot store.
    Case("contact_field_key_nul", "POST", "/api/v1/contacts", contact('"fields": ' + member("a" + NUL, "1"))),
    Case("contact_field_key_surrogate", "POST", "/api/v1/contacts", contact(r'"fields": {"\ud800": 1}')),
    Case("contact_field_value_nul", "POST", "/api/v1/contacts", contact('"fields": ' + member("a", f'["x{NUL}"]'))),
    Case("contact_first_name_surrogate", "POST", "/api/v1/contacts", contact(r'"first_name": "Ada\udfff"')),
    Case("contact_patch_field_key_nul", "PATCH", "/api/v1/contacts/{contact}",
         member("fields", member(NUL, "1"))),
    Case("segment_rule_nul", "POST", "/api/v1/segments",
         '{"name": "s", "rule": {"==": [{"var": "contact.first_name"}, "x' + NUL + '"]}}'),
    Case("segment_rule_surrogate", "POST", "/api/v1/segments",
         r'{"name": "s", "rule": {"==": [{"var": "contact.first_name"}, "\ud800"]}}'),
    Case("template_name_surrogate", "POST", "/api/v1/templates",
         r'{"name": "\ud83d", "subject": "s", "html": "<p>h</p>"}'),
    Case("campaign_name_surrogate", "POST", "/api/v1/campaigns", r'{"name": "launch \udc00"}'),
    Case("workflow_node_id_nul", "POST", "/api/v1/workflows",
         workflow('"graph": ' + graph_with(node_id=f'"a{NUL}"'))),
    Case("workflow_node_id_surrogate", "POST", "/api/v1/workflows",
         workflow('"graph": ' + graph_with(node_id=r'"\ud800"'))),
    Case("draft_node_id_nul", "PUT", "/api/v1/workflows/{workflow}/draft",
         draft_graph(graph_with(node_id=f'"a{NUL}"'))),
    Case("workflow_config_nul", "POST", "/api/v1/workflows",
         workflow('"graph": ' + graph_with(config=member("tag", f'"{NUL}"')))),
    Case("hook_property_key_nul", "POST", "/api/v1/hooks/workflows/{token}", hook(member(NUL, "1"))),
    Case("hook_property_value_surrogate", "POST", "/api/v1/hooks/workflows/{token}", hook(r'{"a": "\udbff"}')),
    Case("event_property_key_nul", "POST", "/api/v1/events", event_body(properties=member(NUL, "1"))),
    # Echoed back in an answer, an unpaired surrogate cannot be encoded: refused before any view sees it.
    Case("contact_status_surrogate", "POST", "/api/v1/contacts", contact(r'"status": "\udc00"')),
    Case("simulate_contact_surrogate", "POST", "/api/v1/workflows/{workflow}/simulate",
         r'{"contact": {"email": "a@b.test", "plan": "\ud800"}}'),
    # 4. The inbound hook's token, the simulation's start, an exit condition's rule.
    Case("hook_token_nul", "POST", "/api/v1/hooks/workflows/%00", hook("{}"), 404),
    Case("simulate_start_year_9999", "POST", "/api/v1/workflows/{workflow}/simulate",
         '{"contact": {"email": "a@b.test"}, "start": "9999-12-31T23:59:59Z"}'),
    Case("workflow_exit_rule_deep", "POST", "/api/v1/workflows",
         workflow('"settings": {"exit_conditions": [' + member("rule", nested_rule(900)) + "]}")),
    Case("draft_exit_rule_deep", "PUT", "/api/v1/workflows/{workflow}/draft",
         draft('"settings": {"exit_conditions": [' + member("rule", nested_rule(900)) + "]}")),
    Case("validate_exit_rule_deep", "POST", "/api/v1/workflows/{workflow}/validate",
         member("settings", '{"exit_conditions": [' + member("rule", nested_rule(900)) + "]}")),
    # 5. Timestamps outside years 1-9999, numbers JSON readers cannot round-trip.
    Case("event_occurred_at_year_0", "POST", "/api/v1/events",
         event_body(occurred_at='"0001-01-01T00:00:00+14:00"')),
    Case("event_occurred_at_year_10000", "POST", "/api/v1/events",
         event_body(occurred_at='"9999-12-31T23:59:59-14:00"')),
    Case("event_property_5000_digits", "POST", "/api/v1/events", event_body(properties=member("n", "9" * 5000))),
    Case("event_property_int_2_63", "POST", "/api/v1/events", event_body(properties=member("n", TOO_BIG))),
    Case("event_property_int_below_minus_2_63", "POST", "/api/v1/events",
         event_body(properties=member("n", f"[{TOO_SMALL}]"))),
    Case("event_property_float_overflow", "POST", "/api/v1/events", event_body(properties=member("n", "1e999"))),
    Case("event_property_float_overflow_nested", "POST", "/api/v1/events",
         event_body(properties=member("n", member("m", "[-2.5E+400]")))),
    Case("contact_field_int_2_63", "POST", "/api/v1/contacts", contact('"fields": ' + member("n", TOO_BIG))),
    Case("contact_field_5000_digits", "POST", "/api/v1/contacts", contact('"fields": ' + member("n", "9" * 5000))),
    Case("contact_field_float_overflow", "POST", "/api/v1/contacts", contact('"fields": ' + member("n", "1e999"))),
    Case("contact_field_nan", "POST", "/api/v1/contacts", contact('"fields": ' + member("n", "NaN"))),
    Case("hook_property_int_2_64", "POST", "/api/v1/hooks/workflows/{token}", hook(member("n", str(2**64)))),
    Case("workflow_config_int_too_big", "POST", "/api/v1/workflows",
         workflow('"graph": ' + graph_with(config=member("n", TOO_BIG)))),
    Case("workflow_position_float_overflow", "POST", "/api/v1/workflows",
         workflow('"graph": {"nodes": [{"id": "t", "type": "trigger_manual", "position": {"x": 1e999, "y": 0}, '
                  '"data": {"config": {}}}], "edges": []}')),
    Case("segment_rule_int_too_big", "POST", "/api/v1/segments",
         '{"name": "s", "rule": {">": [{"var": "contact.score"}, ' + TOO_BIG + "]}}"),
]
EVENT_CASES = [case for case in CASES if case.path == "/api/v1/events"]


@pytest.fixture
def world(workspace):
    """The objects the corpus's paths name: a contact, a segment, a template, a draft and a webhook workflow."""
    from workflows.services import workflow_create

    draft = workflow_create(workspace=workspace, name="Draft",
                            graph={"nodes": [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})],
                                   "edges": chain("t", "a")})
    hooked = publish(workspace, [node("t", "trigger_webhook"), node("a", "add_tag", {"tag": "hooked"})],
                     chain("t", "a"), name="Hooked")
    return {
        "contact": ContactFactory(workspace=workspace).pk,
        "segment": SegmentFactory(workspace=workspace).pk,
        "template": EmailTemplateFactory(workspace=workspace).pk,
        "workflow": draft.pk,
        "token": hooked.webhook_token,
    }


def fingerprint() -> dict[str, object]:
    """What a request could have written: row counts, and the latest change of each table that records one."""
    counts = {model.__name__: model.objects.count()
              for model in (Contact, Segment, EmailTemplate, Campaign, Workflow, WorkflowVersion, Step, Connection,
                            Enrollment, Event, EventKey)}
    changes = {f"{model.__name__}.updated_at": model.objects.aggregate(latest=Max("updated_at"))["latest"]
               for model in (Contact, Segment, EmailTemplate, Campaign, Workflow, WorkflowVersion)}
    revisions = WorkflowVersion.objects.aggregate(total=Sum("revision"))["total"]
    return {**counts, **changes, "revisions": revisions}


def assert_contract_error(status: int, content: bytes, expected: int) -> dict:
    assert status == expected, content[:500]
    body = json.loads(content)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert b"Traceback" not in content
    return body["error"]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_request_answers_4xx_in_contract_format_and_writes_nothing(api, world, case):
    before = fingerprint()
    response = api.generic(case.method, case.path.format(**world), case.body.encode(),
                           content_type="application/json")
    assert_contract_error(response.status_code, response.content, case.status)
    assert fingerprint() == before


# --- the same event cases through the ASGI fast path --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", EVENT_CASES, ids=[case.name for case in EVENT_CASES])
def test_fast_path_refuses_the_hostile_events_like_the_view(workspace, case):
    from penguinflow.workspaces.services import api_key_create
    from tests.events.test_fastpath import FastPath

    _, key = api_key_create(workspace=workspace, name="fast")
    fast = FastPath()
    try:
        before = fingerprint()
        response = fast.request("POST", content=case.body.encode(),
                                headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
    finally:
        fast.close()
    fast_error = assert_contract_error(response.status_code, response.content, case.status)
    assert fingerprint() == before
    view = Client(HTTP_AUTHORIZATION=f"Bearer {key}").generic("POST", "/api/v1/events", case.body.encode(),
                                                              content_type="application/json")
    assert fast_error == json.loads(view.content)["error"]


# --- what the corpus cannot say as one request ------------------------------------------------------------------


def test_batch_stores_its_valid_events_and_rejects_the_year_0_one_by_index(api, workspace):
    body = ('{"events": [' + event_body(occurred_at='"2026-11-22T10:00:00Z"') + ", "
            + event_body(occurred_at='"0001-01-01T00:00:00+14:00"') + ", "
            + event_body(properties=member("n", TOO_BIG)) + "]}")
    response = api.generic("POST", "/api/v1/events", body.encode(), content_type="application/json")
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["accepted"] == 1
    assert [entry["index"] for entry in answer["rejected"]] == [1, 2]
    assert answer["rejected"][0]["errors"] == {"occurred_at": "Must lie between the years 1 and 9999 in UTC."}
    assert answer["rejected"][1]["errors"] == {
        "properties": "Integers must lie between -2^63 and 2^63 - 1 (at properties.n)."}
    assert Event.objects.filter(workspace=workspace, type="order.completed").count() == 1


def test_event_list_reads_around_rows_stored_before_ingestion_refused_them(api, workspace):
    """Rows an older version accepted: a BC timestamp (psycopg cannot read it: the whole page failed), an
    integer of 5000 digits (Python's json refuses to read it), properties nested 1000 levels deep."""
    now = timezone.now()
    rows = {name: Event.objects.create(workspace=workspace, type=f"poison.{name}", occurred_at=now,
                                       received_at=now, properties={"ok": name})
            for name in ("healthy", "bc", "digits", "deep")}
    with connection.cursor() as cursor:
        cursor.execute("UPDATE events_event SET occurred_at = '0001-12-31 10:00:00+00 BC' WHERE id = %s",
                       [rows["bc"].pk])
        cursor.execute("UPDATE events_event SET properties = %s::jsonb WHERE id = %s",
                       ['{"n": ' + "9" * 5000 + ', "small": 1, "big": ' + TOO_BIG + "}", rows["digits"].pk])
        cursor.execute("UPDATE events_event SET properties = %s::jsonb WHERE id = %s",
                       ['{"x": ' + nested_list(DEEP) + "}", rows["deep"].pk])

    response = api.get("/api/v1/events?limit=500")

    assert response.status_code == 200, response.content[:500]
    listed = {item["type"]: item["properties"] for item in response.json()["results"]}
    assert listed == {"poison.healthy": {"ok": "healthy"},
                      "poison.digits": {"n": "9" * 5000, "small": 1, "big": TOO_BIG},
                      "poison.deep": None}


def test_timezone_rule_is_the_same_for_the_api_and_the_engine():
    from penguinflow.common.validators import is_valid_timezone, timezone_names
    from workflows.engine.types import is_zone_name, zone_names

    assert timezone_names() == zone_names()
    assert {"UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5"} <= zone_names()
    for name in ("America", "Etc", "America/Argentina", "posix/Europe/Paris", "right/UTC", "Factory", "localtime",
                 "", "/etc/passwd", "../zoneinfo/UTC", "Europe/Paris\x00"):
        assert not is_valid_timezone(name) and not is_zone_name(name), name


@pytest.mark.parametrize("name", ["America", "Etc", "posix/Europe/Paris", "Factory", "Europe/../UTC"])
def test_engine_zone_lookup_raises_value_error_for_names_that_are_not_zones(name):
    from workflows.engine.types import zone

    with pytest.raises(ValueError, match="is not an IANA time zone"):
        zone(name)


def test_date_field_trigger_fires_in_the_workflow_zone_for_a_contact_zone_that_is_not_a_zone():
    """A contact stored with "Factory" or "posix/Europe/Paris" (accepted once) must not stop the trigger for
    every contact of the workspace: it fires in the workflow's zone, as windows do."""
    from datetime import date

    from workflows.engine.registry import registry

    trigger = registry.get("trigger_date_field")
    config = trigger.parse_config({"field": "renewal_date", "offset": "-P3D", "at_time": "09:00"})
    in_paris = trigger.fire_at(config, value=date(2026, 11, 3), timezone="Europe/Paris")
    for stored in ("Factory", "posix/Europe/Paris", "America", "", None):
        assert trigger.fire_at(config, value=date(2026, 11, 3), timezone=stored, fallback="Europe/Paris") == in_paris


def test_a_window_zone_that_is_a_directory_is_a_validation_error_and_publish_answers_422(api, world):
    saved = api.put(f"/api/v1/workflows/{world['workflow']}/draft",
                    {"graph": delay_graph("America"), "settings": {}, "revision": 1}, format="json")
    assert saved.status_code == 200, saved.content  # a draft may hold an invalid config; validation reports it
    assert [error["node_id"] for error in saved.json()["validation"]["errors"]] == ["d"]

    validated = api.post(f"/api/v1/workflows/{world['workflow']}/validate", {}, format="json")
    assert validated.status_code == 200, validated.content
    assert "America" in validated.json()["errors"][0]["message"]

    before = fingerprint()
    published = api.post(f"/api/v1/workflows/{world['workflow']}/publish")
    assert_contract_error(published.status_code, published.content, 422)
    assert fingerprint() == before


def test_validate_of_a_draft_stored_with_a_directory_zone_answers_400(api, world):
    WorkflowVersion.objects.filter(workflow_id=world["workflow"]).update(settings={"timezone": "America"})
    response = api.post(f"/api/v1/workflows/{world['workflow']}/validate", {}, format="json")
    error = assert_contract_error(response.status_code, response.content, 400)
    assert "settings.timezone" in error["details"]


def test_simulation_uses_the_workflow_zone_when_the_contact_zone_is_a_directory(api, world):
    api.put(f"/api/v1/workflows/{world['workflow']}/draft",
            {"graph": delay_graph("contact"), "settings": {"timezone": "Europe/Paris"}, "revision": 1}, format="json")
    response = api.post(f"/api/v1/workflows/{world['workflow']}/simulate",
                        {"contact": {"email": "a@b.test", "timezone": "America"}, "start": "2026-11-23T08:00:00Z"},
                        format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"


def test_json_fields_refuse_unstorable_values_that_did_not_come_through_the_parser():
    from contacts.serializers import ContactSerializer, SegmentSerializer
    from workflows.serializers import WorkflowCreateSerializer

    deep: list = []
    innermost = deep
    for _ in range(5 * DEEP):  # built in a loop: deeper than any recursive walk of it could go
        innermost.append([])
        innermost = innermost[0]

    contact = ContactSerializer(data={"email": "a@b.test", "fields": {"x": deep}})
    assert not contact.is_valid()
    assert "nested" in str(contact.errors["fields"])
    assert not ContactSerializer(data={"email": "a@b.test", "fields": {"a\x00": 1}}).is_valid()
    segment = SegmentSerializer(data={"name": "s", "rule": {"==": [1, "\ud800"]}})
    assert not segment.is_valid()
    workflow = WorkflowCreateSerializer(data={"name": "w", "settings": {"n": float("inf")}})
    assert not workflow.is_valid()
    assert "finite" in str(workflow.errors["settings"])
