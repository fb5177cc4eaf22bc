from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/contacts", "/api/v1/workflows/{id}/draft", "/api/v1/segments/{id}/contacts"):
        assert any(p.rstrip("/") == path for p in schema["paths"]), path


@pytest.mark.django_db
def test_interactive_docs_are_served_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


@pytest.mark.django_db
def test_admin_login_page_is_served(client):
    assert client.get("/admin/login/").status_code == 200


@pytest.mark.django_db
def test_healthz_reports_postgres_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


# --- the schema is the API ---------------------------------------------------------------------------------------


def test_the_schema_is_valid_openapi_30_and_generated_without_warnings(tmp_path):
    """What `manage.py spectacular --validate --fail-on-warn` checks: clients generate their types from a document
    that follows the OpenAPI version it names (3.0: `nullable`, no `null` type, no `patternProperties`)."""
    from django.core.management import call_command
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()  # the warnings of schemas generated earlier in this process are not this one's
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.0")


def test_json_schema_from_pydantic_is_written_in_the_dialect_of_openapi_30():
    from penguinflow.common.schema import openapi_30

    schema = {"type": "object", "properties": {
        "rate": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "default": None, "title": "Rate"},
        "kind": {"const": "cap", "type": "string"},
        "share": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "regions": {"type": "object", "patternProperties": {"^[A-Z]{2}$": {"type": ["string", "null"]}}},
    }}  # fmt: skip
    assert openapi_30(schema)["properties"] == {
        "rate": {"type": "integer", "minimum": 1, "nullable": True, "default": None, "title": "Rate"},
        "kind": {"type": "string", "enum": ["cap"]},
        "share": {"type": "number", "nullable": True, "minimum": 0, "exclusiveMinimum": True},
        "regions": {"type": "object", "additionalProperties": {"type": "string", "nullable": True},
                    "description": "Keys match `^[A-Z]{2}$`."},
    }  # fmt: skip



@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()


def operation(schema: dict, method: str, path: str) -> dict:
    found = {p.rstrip("/"): item for p, item in schema["paths"].items()}
    return found[path][method.lower()]


def response_schema(schema: dict, method: str, path: str, status: str) -> dict:
    return operation(schema, method, path)["responses"][status]["content"]["application/json"]["schema"]


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_events_ingestion_and_listing_are_documented(schema):
    post = operation(schema, "POST", "/api/v1/events")
    assert set(post["responses"]) == {"202", "400", "401", "403", "409", "413", "415", "429"}
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert [resolve(schema, variant) for variant in body["oneOf"]][1]["properties"]["events"]["maxItems"] == 1000
    listing = resolve(schema, response_schema(schema, "GET", "/api/v1/events", "200"))
    assert set(listing["properties"]) == {"next", "previous", "results"}
    assert {p["name"] for p in operation(schema, "GET", "/api/v1/events")["parameters"]} >= {
        "contact", "type", "since", "until", "cursor", "limit"}


def test_answers_are_documented_with_their_real_shapes(schema):
    assert response_schema(schema, "GET", "/api/v1/node-types", "200")["type"] == "array"
    assert response_schema(schema, "GET", "/api/v1/workflows/{id}/versions", "200")["type"] == "array"
    for method, path, component in [
        ("GET", "/api/v1/workflows/{id}/analytics", "Analytics"),
        ("POST", "/api/v1/workflows/{id}/validate", "ValidationReport"),
        ("POST", "/api/v1/workflows/{id}/simulate", "SimulationResult"),
        ("POST", "/api/v1/workflows/{id}/publish", "PublishAnswer"),  # `{version}`, or with `migrate` the plan
        ("PUT", "/api/v1/workflows/{id}/draft", "DraftSaved"),
        ("GET", "/api/v1/workflows/{id}/versions/{number}", "Version"),
    ]:
        assert response_schema(schema, method, path, "200") == {"$ref": f"#/components/schemas/{component}"}
    assert "202" in operation(schema, "POST", "/api/v1/workflows/{id}/enroll")["responses"]


def test_every_operation_documents_its_errors_in_the_contract_format(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(resolve(schema, error["properties"]["error"])["required"]) == {"code", "message", "details"}
    for path, item in schema["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            if op.get("security") and "/hooks/" not in path:
                assert {"401", "429"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in op:
                assert {"400", "413", "415"} <= codes, (method, path)
            for code in codes - {"200", "201", "202", "204"}:
                assert response_schema(schema, method, path.rstrip("/"), code) == {
                    "$ref": "#/components/schemas/Error"}, (method, path, code)


def test_service_refusals_are_documented(schema):
    def codes(method, path):
        return set(operation(schema, method, path)["responses"])

    assert {"409", "422"} <= codes("POST", "/api/v1/workflows/{id}/publish")
    assert "409" in codes("PUT", "/api/v1/workflows/{id}/draft")
    assert "409" in codes("DELETE", "/api/v1/workflows/{id}")
    assert "422" in codes("POST", "/api/v1/workflows/{id}/enroll")
    assert "409" in codes("POST", "/api/v1/contacts")
    assert "409" in codes("POST", "/api/v1/campaigns/{id}/start")


def test_limit_is_documented_with_its_bounds(schema):
    for path in ("/api/v1/contacts", "/api/v1/events", "/api/v1/executions"):
        limit = next(p for p in operation(schema, "GET", path)["parameters"] if p["name"] == "limit")
        assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}


def test_json_documents_are_typed_and_not_nullable(schema):
    draft = resolve(schema, operation(schema, "PUT", "/api/v1/workflows/{id}/draft")["requestBody"]["content"][
        "application/json"]["schema"])
    assert draft["properties"]["graph"] == {"$ref": "#/components/schemas/Graph"}
    assert draft["properties"]["settings"] == {"$ref": "#/components/schemas/WorkflowSettingsRequest"}
    segment = schema["components"]["schemas"]["SegmentRequest"]["properties"]["rule"]
    assert "nullable" not in segment and {"type": "object", "additionalProperties": {}} in segment["anyOf"]


def test_the_members_api_is_described_as_it_answers(schema):
    add = operation(schema, "post", "/api/v1/workspace/members")
    body = resolve(schema, add["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) == {"email", "role"}
    change = operation(schema, "patch", "/api/v1/workspace/members/{id}")
    assert change["requestBody"]["required"] is True
    role = change["requestBody"]["content"]["application/json"]["schema"]
    assert role["required"] == ["role"] and role["properties"]["role"]["enum"] == ["owner", "admin", "editor", "viewer"]
    for method, path, statuses in (("post", "/api/v1/workspace/members", {"201", "400", "403", "404", "409"}),
                                   ("patch", "/api/v1/workspace/members/{id}", {"200", "403", "404", "409"}),
                                   ("delete", "/api/v1/workspace/members/{id}", {"204", "403", "404", "409"})):
        assert statuses <= set(operation(schema, method, path)["responses"]), (method, path)
    member = resolve(schema, response_schema(schema, "get", "/api/v1/workspace/members", "200"))
    item = resolve(schema, member["properties"]["results"]["items"])
    assert set(item["properties"]) == {"id", "user_id", "email", "name", "role", "joined_at"}
