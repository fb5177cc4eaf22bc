"""No list answers without bound (issue 22, limits): every GET whose answer is a list, found in the OpenAPI schema
(a list added tomorrow is in the matrix), either pages with a `limit` of at most MAX_PAGE_SIZE, which the server
holds (one more is a 400 in the contract's format), or is bounded by what it lists, said here with the bound."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from penguinflow.common.pagination import MAX_PAGE_SIZE
from tests.api.test_docs import resolve
from tests.api.test_isolation import FACTORIES
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

# Lists without pages, each with what bounds it.
BOUNDED_BY_WHAT_THEY_LIST = {
    "/api/v1/node-types": "the registry's node types",
    "/api/v1/action-templates": "the presets shipped with the code",
    "/api/v1/trigger-templates": "the presets shipped with the code",
    "/api/v1/workflow-templates/categories": "the marketplace's categories, a fixed list",
    "/api/v1/contacts/tags": "the 1,000 most used tags (contacts.selectors.TAGS_LISTED_AT_MOST)",
    "/api/v1/webhooks/samples": "at most 3 recent events (Zapier's performList)",
    "/api/v1/workflows/{id}/suggestions": "one suggestion per rule and node of one workflow",
    "/api/v1/contacts/{contact_id}/push-subscriptions": "the 20 browsers a contact keeps (push.subscriptions.PUSH_MAX_DEVICES_PER_CONTACT)",
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _lists(schema: dict) -> dict[str, dict]:
    found = {}
    for path, item in schema["paths"].items():
        operation = item.get("get")
        answer = (operation or {}).get("responses", {}).get("200", {}).get("content", {}).get("application/json")
        if not answer:
            continue
        shape = resolve(schema, answer["schema"])
        if shape.get("type") == "array" or "results" in shape.get("properties", {}):
            found[path.rstrip("/")] = operation
    return found


def _limit(operation: dict) -> dict | None:
    return next((p for p in operation.get("parameters", []) if p["name"] == "limit"), None)


def _path(path: str, workspace) -> str:
    """The path with the workspace's own objects in it (a 404 cannot pass for a refusal)."""
    if "{contact_id}" in path:
        path = path.replace("{contact_id}", str(ContactFactory(workspace=workspace).pk))
    if "{id}" in path:
        path = path.replace("{id}", str(FACTORIES[path.split("/")[3]](workspace).pk))
    return path


def test_a_list_without_pages_says_what_bounds_it(schema):
    unpaged = {path for path, operation in _lists(schema).items() if _limit(operation) is None}
    assert unpaged == set(BOUNDED_BY_WHAT_THEY_LIST), (
        "a list answers without `limit`: page it, or say here what bounds it", unpaged ^ set(BOUNDED_BY_WHAT_THEY_LIST))


def test_every_paged_list_holds_its_limit(schema, api, workspace):
    paged = {path: _limit(operation) for path, operation in _lists(schema).items() if _limit(operation)}
    assert len(paged) > 15, f"only {len(paged)} paged lists found: the discovery is broken"
    for path, limit in paged.items():
        assert 1 <= limit["schema"].get("maximum", 10**9) <= MAX_PAGE_SIZE, (path, limit)
        url = _path(path, workspace)
        assert api.get(url, {"limit": MAX_PAGE_SIZE}).status_code == 200, url
        refused = api.get(url, {"limit": MAX_PAGE_SIZE + 1})
        assert refused.status_code == 400, (url, refused.status_code, refused.content[:300])
        assert refused.json()["error"]["code"] in ("invalid_input", "validation_error"), refused.content
