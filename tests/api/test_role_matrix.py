"""Each role does what the table of `penguinflow.common.permissions` says, on every route under /api/v1/ that
takes a write method (POST, PUT, PATCH, DELETE), found by walking the URL configuration (a route added tomorrow
is in the matrix without anyone listing it), with the member's own workspace's objects (so a 404 cannot pass for
a refusal):

- a viewer is refused every write (403 in the contract's format) except the computations that store nothing;
- an editor is refused the routes that run the workspace (ADMIN_ONLY) and nothing else;
- an admin and an owner are refused none of them.

Reads stay open to every role."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from penguinflow.workspaces.models import Membership
from tests.api.test_isolation import FACTORIES, resource_of
from tests.factories import MembershipFactory

pytestmark = pytest.mark.hostile


Role = Membership.Role
WRITE_METHODS = ("post", "put", "patch", "delete")
# Routes a viewer may use on purpose (routes as `route_key` spells them), each with the reason.
OPEN_TO_VIEWERS = {
    # Computations over what a viewer may read that store, send and call nothing, each within the budgets of the
    # live path: a viewer sees what a workflow would do (the requests a read-scoped API key may make too).
    "workflows/{id}/simulate",
    "workflows/{id}/validate",
    "workflows-as-code/plan",
    "node-types/<str:node_type>/test",
    "expressions/compile",
    "expressions/render",
    "liquid/preview",
    "sms/segments",
    "templates/{id}/preview",
    # The inbound webhook trigger: public, its secret token is the authority, whoever posts.
    "hooks/workflows/<str:token>",
}
# Routes that run the workspace: its settings, secrets, connectors and people. Admins and owners only.
ADMIN_ONLY = {
    "workspace/settings",
    "workspace/write-key/rotate",
    "webhook-signing-secrets/rotate",
    "webhook-signing-secrets/{id}",
    "credentials",
    "credentials/{id}",
    "connectors",
    "connectors/{id}",
    "push/settings",
    "push/settings/identity-secret",
    "workspace/members",
    "workspace/members/{id}",
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


def route_key(route: str) -> str:
    """The route as the lists above spell it: `api/v1/^workflows/(?P<pk>...)/simulate/?$` -> `workflows/{id}/simulate`."""
    stripped = route[len("api/v1/"):].lstrip("^").rstrip("$").replace("/?", "")
    return re.sub(r"\(\?P<pk>[^)]*\)", "{id}", stripped)


def _write_routes():
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        for method in sorted(_methods(pattern) & set(WRITE_METHODS)):
            found.append(pytest.param(route, method, id=f"{method.upper()} {route}"))
    return found


ROUTES = _write_routes()
ADMIN_ROUTES = [param for param in ROUTES if route_key(param.values[0]) in ADMIN_ONLY]


# A value that routes for each kind of path parameter (a refusal comes before any lookup, so it need not exist).
_ROUTABLE = {"uuid": "00000000-0000-4000-8000-000000000000", "slug": "x", "str": "x", "int": "1", "path": "x"}


def _path(route: str, workspace) -> str:
    path = route
    if "(?P<pk>" in route and resource_of(route) in FACTORIES:  # the member's own object: a 404 is no refusal
        path = re.sub(r"\(\?P<pk>[^)]*\)", str(FACTORIES[resource_of(route)](workspace).pk), path)
    path = re.sub(r"\(\?P<[a-z_]+>\[0-9a-f\]\{16\}\)", "0" * 16, path)
    path = re.sub(r"\(\?P<[a-z_]+>[^)]*\{36\}\)", _ROUTABLE["uuid"], path)
    path = re.sub(r"\(\?P<[a-z_]+>[^)]*\)", "x", path)
    path = re.sub(r"<(\w+):\w+>", lambda match: _ROUTABLE[match.group(1)], path)
    path = path.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    return "/" + path


def _member(workspace, role: str) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(MembershipFactory(workspace=workspace, role=role).user)
    return client


def _send(client: Client, workspace, route: str, method: str):
    return getattr(client, method)(_path(route, workspace), {}, content_type="application/json")


def _assert_refused(response, method, route) -> None:
    assert response.status_code == 403, (method, route, response.status_code, response.content[:300])
    error = response.json()["error"]
    assert error["code"] == "permission_denied" and error["message"], response.content


def _assert_let_through(response, method, route) -> None:
    # Past the role check the empty body may be refused (400, 404, 409, 422) or taken; never a 403 or a 500.
    # 401: an API-key-only route (event ingestion), where no session writes, whatever its role.
    assert response.status_code not in (403, 500), (method, route, response.status_code, response.content[:300])


def test_the_matrix_found_the_write_routes():
    assert len(ROUTES) > 80, f"only {len(ROUTES)} write routes found: the discovery is broken"


def test_every_route_the_lists_name_exists():
    # A list entry that names no route (a renamed route, a regex spelled differently) would open or close nothing.
    keys = {route_key(param.values[0]) for param in ROUTES}
    assert OPEN_TO_VIEWERS - keys == set()
    assert ADMIN_ONLY - keys == set()


@pytest.mark.parametrize("route,method", ROUTES)
def test_a_viewer_is_refused_every_write_but_the_computations(workspace, route, method):
    response = _send(_member(workspace, Role.VIEWER), workspace, route, method)
    if response.status_code in (401, 405):
        return  # an API-key-only route, or one that does not take this method at all
    if route_key(route) in OPEN_TO_VIEWERS:
        _assert_let_through(response, method, route)
    else:
        _assert_refused(response, method, route)


@pytest.mark.parametrize("route,method", ROUTES)
def test_an_editor_is_refused_exactly_the_routes_that_run_the_workspace(workspace, route, method):
    response = _send(_member(workspace, Role.EDITOR), workspace, route, method)
    if response.status_code in (401, 405):
        return
    if route_key(route) in ADMIN_ONLY:
        _assert_refused(response, method, route)
    else:
        _assert_let_through(response, method, route)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
@pytest.mark.parametrize("route,method", ADMIN_ROUTES)
def test_admins_and_owners_run_the_workspace(workspace, role, route, method):
    response = _send(_member(workspace, role), workspace, route, method)
    if response.status_code == 405:
        return
    _assert_let_through(response, method, route)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads(workspace, role):
    member = _member(workspace, role)
    for path in ("/api/v1/contacts", "/api/v1/workflows", "/api/v1/executions", "/api/v1/me",
                 "/api/v1/workspace/members", "/api/v1/workspace/settings", "/api/v1/credentials"):
        assert member.get(path).status_code == 200, (role, path)
