"""A viewer reads and changes nothing: every route under /api/v1/ that takes a write method (POST, PUT, PATCH,
DELETE) refuses a viewer's session with 403 in the contract's format, found by walking the URL configuration
(a route added tomorrow is in the matrix without anyone listing it), with the viewer's own workspace's objects
(so a 404 cannot pass for a refusal). Reads stay open to viewers."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from penguinflow.workspaces.models import Membership
from tests.api.test_isolation import FACTORIES
from tests.factories import MembershipFactory

WRITE_METHODS = ("post", "put", "patch", "delete")
# Routes a viewer may use on purpose, each with the reason.
OPEN_TO_VIEWERS = {
    # Dry runs and previews compute and store nothing: a viewer debugging a workflow uses them.
    "workflows/(?P<pk>[^/.]+)/simulate",
    "workflows/(?P<pk>[^/.]+)/validate",
    "expressions/compile",
    "expressions/render",
    # The inbound webhook trigger: public, its secret token is the authority, whoever posts.
    "hooks/workflows/<str:token>",
}


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _methods(pattern: URLPattern) -> set[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:
        return set(actions)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return {method for method in WRITE_METHODS if hasattr(view_class, method)}
    return set(WRITE_METHODS)  # a function view: ask it each method; a 405 says it takes none


def _write_routes():
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        for method in sorted(_methods(pattern) & set(WRITE_METHODS)):
            found.append(pytest.param(route, method, id=f"{method.upper()} {route}"))
    return found


ROUTES = _write_routes()


# A value that routes for each kind of path parameter (a refusal comes before any lookup, so it need not exist).
_ROUTABLE = {"uuid": "00000000-0000-4000-8000-000000000000", "slug": "x", "str": "x", "int": "1", "path": "x"}


def _path(route: str, workspace) -> str:
    resource = route[len("api/v1/"):].lstrip("^").split("/")[0]
    path = route
    if "(?P<pk>" in route and resource in FACTORIES:  # the viewer's own object: a 404 cannot pass for a refusal
        path = re.sub(r"\(\?P<pk>[^)]*\)", str(FACTORIES[resource](workspace).pk), path)
    path = re.sub(r"\(\?P<[a-z_]+>\[0-9a-f\]\{16\}\)", "0" * 16, path)
    path = re.sub(r"\(\?P<[a-z_]+>[^)]*\{36\}\)", _ROUTABLE["uuid"], path)
    path = re.sub(r"\(\?P<[a-z_]+>[^)]*\)", "x", path)
    path = re.sub(r"<(\w+):\w+>", lambda match: _ROUTABLE[match.group(1)], path)
    path = path.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    return "/" + path


@pytest.fixture
def viewer(workspace) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(MembershipFactory(workspace=workspace, role=Membership.Role.VIEWER).user)
    return client


def test_the_matrix_found_the_write_routes():
    assert len(ROUTES) > 80, f"only {len(ROUTES)} write routes found: the discovery is broken"


@pytest.mark.parametrize("route,method", ROUTES)
def test_a_viewer_is_refused_every_write(viewer, workspace, route, method):
    stripped = route[len("api/v1/"):].lstrip("^").rstrip("$").replace("/?", "")
    if stripped in OPEN_TO_VIEWERS:
        pytest.skip("open to viewers on purpose (stores nothing)")
    path = _path(route, workspace)
    response = getattr(viewer, method)(path, {}, content_type="application/json")
    if response.status_code == 405:
        return  # the route does not take this method at all
    if response.status_code == 401:
        return  # an API-key-only route (event ingestion): no session writes there, a viewer's included
    assert response.status_code == 403, (method, path, response.status_code, response.content[:300])
    assert response.json()["error"]["code"] in ("permission_denied", "insufficient_role"), response.content


def test_a_viewer_reads(viewer):
    for path in ("/api/v1/contacts", "/api/v1/workflows", "/api/v1/executions", "/api/v1/me"):
        assert viewer.get(path).status_code == 200, path
