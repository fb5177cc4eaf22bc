"""Workspace isolation: every endpoint that takes an id answers 404 for an id of another workspace.

The endpoints are discovered from the URL configuration, so a new endpoint is covered (or this test fails and
asks for an object factory) without anyone remembering to add it here.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import (
    CampaignFactory,
    ContactFactory,
    EmailTemplateFactory,
    MembershipFactory,
    SegmentFactory,
    make_enrollment,
)

pytestmark = pytest.mark.hostile


def _make_workflow(workspace):
    from workflows.services import workflow_create

    return workflow_create(workspace=workspace, name="Theirs")


def _make_task(workspace):
    from tasks.services import task_create

    return task_create(workspace=workspace, title="Theirs")


def _make_signing_secret(workspace):
    from penguinflow.workspaces.services import signing_secret_rotate

    return signing_secret_rotate(workspace=workspace)


def _make_credential(workspace):
    from penguinflow.workspaces.services import credential_create

    return credential_create(workspace=workspace, name="Theirs", secret="s3cr3t")


def _make_connector(workspace):
    from connectors.services import connector_create

    return connector_create(workspace=workspace, kind="hubspot", name="Theirs", secret="s3cr3t")


def _make_webhook(workspace):
    from webhooks.services import subscription_create

    return subscription_create(workspace=workspace, url="https://hooks.example.com/theirs", events=["*"])


FACTORIES = {
    "contacts": lambda ws: ContactFactory(workspace=ws),
    "segments": lambda ws: SegmentFactory(workspace=ws),
    "templates": lambda ws: EmailTemplateFactory(workspace=ws),
    "campaigns": lambda ws: CampaignFactory(workspace=ws),
    "workflows": _make_workflow,
    "executions": make_enrollment,
    "tasks": _make_task,
    "webhook-signing-secrets": _make_signing_secret,
    "webhooks": _make_webhook,
    "credentials": _make_credential,
    "connectors": _make_connector,
    "workspace/members": lambda ws: MembershipFactory(workspace=ws),
}


def resource_of(route: str) -> str:
    """The collection an id route is under: `api/v1/^workspace/members/(?P<pk>...)` -> `workspace/members`."""
    return route[len("api/v1/"):].lstrip("^").split("/(?P<pk>")[0]


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _id_endpoints():
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or "(?P<pk>" not in route:
            continue
        actions = getattr(pattern.callback, "actions", None) or {}
        resource = resource_of(route)
        for method in actions:
            found.append(pytest.param(route, resource, method, id=f"{method.upper()} {route}"))
    return found


ENDPOINTS = _id_endpoints()


def test_every_id_endpoint_has_a_factory():
    assert ENDPOINTS, "no endpoint with an id was found; the discovery is broken"
    missing = {param.values[1] for param in ENDPOINTS} - set(FACTORIES)
    assert not missing, f"add factories for {missing} to FACTORIES"


@pytest.mark.parametrize("route,resource,method", ENDPOINTS)
def test_foreign_id_answers_404(api, other_workspace, route, resource, method):
    theirs = FACTORIES[resource](other_workspace)
    path = re.sub(r"\(\?P<pk>[^)]*\)", str(theirs.pk), route)
    path = "/" + path.replace("^", "").replace("$", "").replace("/?", "")
    path = re.sub(r"\(\?P<format>[^)]*\)", "", path)
    path = re.sub(r"\(\?P<number>[^)]*\)", "1", path)
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code == 404, (method, path, response.content)
    assert response.json()["error"]["code"] == "not_found"
    # Nothing of theirs changed or disappeared.
    assert type(theirs).objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("resource", sorted(FACTORIES))
def test_lists_show_only_own_workspace(api, other_workspace, workspace, resource):
    FACTORIES[resource](other_workspace)
    mine = FACTORIES[resource](workspace)
    response = api.get(f"/api/v1/{resource}")
    assert response.status_code == 200
    assert [str(item["id"]) for item in response.json()["results"]] == [str(mine.pk)]
