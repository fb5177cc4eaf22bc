"""Expressions over the API (CONTRACT §7a): the compile and render endpoints, and {"js": ...} in place of rules."""

from __future__ import annotations

import pytest

from contacts.models import Segment
from tests.engine.graphs import chain, edge, node
from workflows.models import Step, WorkflowVersion

COMPILE = "/api/v1/expressions/compile"
RENDER = "/api/v1/expressions/render"
PRO = 'contact.fields.plan === "pro" && contact.score >= 50'
PRO_RULE = {"and": [{"===": [{"var": "contact.fields.plan"}, "pro"]}, {">=": [{"var": "contact.score"}, 50]}]}


def test_compile_answers_the_jsonlogic_of_an_expression(api):
    answer = api.post(COMPILE, {"js": PRO}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"rule": PRO_RULE}


@pytest.mark.parametrize(
    ("js", "line", "column", "words"),
    [
        ("contact.score >\n  = 5", 2, 3, "syntax error"),
        ("1" + " " * 10_000, 1, 1, "10,000"),
        ("!" * 200 + "contact.a", 1, 65, "levels deep"),
        ("contact.a && foo(1)", 1, 14, "unknown function 'foo'"),
        ("contact.a = 1", 1, 1, "assignment"),
        ("", 1, 1, "empty"),
    ],
)
def test_compile_refuses_with_400_and_the_position(api, js, line, column, words):
    answer = api.post(COMPILE, {"js": js}, format="json")

    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "expression_invalid"
    assert (error["details"]["line"], error["details"]["column"]) == (line, column)
    assert words in error["details"]["js"]


@pytest.mark.parametrize("body", [{}, {"js": 5}, {"js": None}, {"js": ["contact.a"]}, {"rule": {}}])
def test_compile_refuses_a_body_without_an_expression(api, body):
    answer = api.post(COMPILE, body, format="json")

    assert answer.status_code == 400, answer.content
    assert "js" in answer.json()["error"]["details"]


def test_the_endpoints_need_a_key(client):
    assert client.post(COMPILE, {"js": "true"}, content_type="application/json").status_code == 401
    assert client.post(RENDER, {"rule": True}, content_type="application/json").status_code == 401


def test_render_writes_a_rule_as_an_expression_that_compiles_back(api):
    some = {"some": [{"var": "contact.tags"}, {"===": [{"var": ""}, "vip"]}]}
    for rule, js in [(PRO_RULE, PRO), (some, '$some(contact.tags, $var("") === "vip")')]:
        answer = api.post(RENDER, {"rule": rule}, format="json")
        assert answer.status_code == 200, answer.content
        assert answer.json() == {"js": js}
        assert api.post(COMPILE, answer.json(), format="json").json() == {"rule": rule}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"rule": {"nope": [1]}}, "unknown operation"),
        ({"rule": {"email_event": {"event": "bogus"}}}, "bogus"),
        ({}, "required"),
    ],
)
def test_render_refuses_an_invalid_rule_with_400(api, body, words):
    answer = api.post(RENDER, body, format="json")

    assert answer.status_code == 400, answer.content
    assert words in answer.json()["error"]["details"]["rule"]


# --- {"js": ...} wherever a rule is accepted --------------------------------------------------------------------


def _graph(**rules):
    return {
        "nodes": [
            node("t", "trigger_event", {"event": "page.viewed", "filter": rules.get("filter", {"js": "true"})}),
            node("c", "condition", {"rule": rules.get("condition", {"js": PRO})}),
            node("s", "switch", {"cases": [{"id": "a", "label": "A", "rule": rules.get("case", {"js": "contact.x"})}]}),
            node("w", "wait_for_event", {"event": "email.clicked", "timeout": "P1D",
                                         "filter": rules.get("wait", {"js": 'event.properties.url.includes("/x")'})}),
            node("ts", "trigger_schedule", {"at": "2030-01-01T09:00:00Z", "timezone": "UTC",
                                            "audience": {"rule": {"js": 'contact.tags.includes("vip")'}}}),
        ],
        "edges": [*chain("t", "c"), edge("c", "s", "yes"), edge("s", "w", "a"), edge("ts", "c", "default")],
    }


def _create(api, graph, settings=None):
    answer = api.post("/api/v1/workflows", {"name": "Expressions", "graph": graph, "settings": settings or {}},
                      format="json")
    return answer


def test_expressions_in_node_configs_and_settings_are_stored_and_answered_as_jsonlogic(api):
    settings = {"exit_conditions": [{"rule": {"js": 'contact.status === "unsubscribed"'}},
                                    {"event": "email.replied", "filter": {"js": "event.properties.n > 1"}}]}
    created = _create(api, _graph(), settings)
    assert created.status_code == 201, created.content

    draft = api.get(f"/api/v1/workflows/{created.json()['id']}").json()["draft"]

    configs = {n["id"]: n["data"]["config"] for n in draft["graph"]["nodes"]}
    assert configs["t"]["filter"] is True
    assert configs["c"]["rule"] == PRO_RULE
    assert configs["s"]["cases"] == [{"id": "a", "label": "A", "rule": {"var": "contact.x"}}]
    assert configs["w"]["filter"] == {"in": ["/x", {"var": "event.properties.url"}]}
    assert configs["ts"]["audience"] == {"rule": {"in": ["vip", {"var": "contact.tags"}]}}
    assert draft["settings"]["exit_conditions"][0]["rule"] == {"===": [{"var": "contact.status"}, "unsubscribed"]}
    assert draft["settings"]["exit_conditions"][1]["filter"] == {">": [{"var": "event.properties.n"}, 1]}
    assert not Step.objects.filter(config__icontains='"js"').exists()
    validated = api.post(f"/api/v1/workflows/{created.json()['id']}/validate", {}, format="json").json()
    assert not [e for e in validated["errors"] if e["code"] in ("invalid_rule", "invalid_config")]


@pytest.mark.parametrize(
    ("rules", "path", "node_id", "column"),
    [
        ({"condition": {"js": "contact.a &&"}}, "graph.nodes[1].data.config.rule", "c", 11),
        ({"case": {"js": "nope(1)"}}, "graph.nodes[2].data.config.cases[0].rule", "s", 1),
        ({"filter": {"js": "contact.a = 1"}}, "graph.nodes[0].data.config.filter", "t", 1),
        ({"wait": {"js": 5}}, "graph.nodes[3].data.config.filter", "w", 1),
    ],
)
def test_an_expression_that_does_not_compile_refuses_the_save_with_where(api, workspace, rules, path, node_id, column):
    created = _create(api, {"nodes": [], "edges": []})
    workflow_id = created.json()["id"]

    saved = api.put(f"/api/v1/workflows/{workflow_id}/draft",
                    {"graph": _graph(**rules), "settings": {}, "revision": 1}, format="json")
    validated = api.post(f"/api/v1/workflows/{workflow_id}/validate", {"graph": _graph(**rules)}, format="json")

    for answer in (saved, validated):
        assert answer.status_code == 400, answer.content
        details = answer.json()["error"]["details"]
        assert path in details
        (position,) = details["expressions"]
        assert (position["path"], position["node_id"], position["line"], position["column"]) == (
            path, node_id, 1, column)
    draft = WorkflowVersion.objects.get(workflow_id=workflow_id, number__isnull=True)
    assert draft.revision == 1 and not draft.steps.exists()  # nothing written


def test_an_exit_condition_expression_that_does_not_compile_is_a_400_with_where(api):
    answer = _create(api, {"nodes": [], "edges": []},
                     {"exit_conditions": [{"event": "email.replied", "filter": {"js": "event.x >"}}]})

    assert answer.status_code == 400, answer.content
    details = answer.json()["error"]["details"]
    assert details["expressions"] == [{"path": "settings.exit_conditions[0].filter", "line": 1, "column": 9,
                                       "message": details["settings.exit_conditions[0].filter"]}]


def test_segments_take_an_expression_and_store_its_jsonlogic(api, workspace):
    created = api.post("/api/v1/segments", {"name": "Pros", "rule": {"js": PRO}}, format="json")
    refused = api.post("/api/v1/segments", {"name": "Bad", "rule": {"js": "contact.score >>> 1"}}, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["rule"] == PRO_RULE
    assert Segment.objects.get(pk=created.json()["id"]).rule == PRO_RULE
    assert refused.status_code == 400, refused.content
    assert "line 1, column 15" in refused.json()["error"]["details"]["rule"]
    assert not Segment.objects.filter(name="Bad").exists()
