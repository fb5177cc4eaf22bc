"""Revoking or deleting an API key, or deleting its workspace, takes effect on the next request in every process,
though each process caches keys: the server under test is another process (uvicorn, the production ASGI app)."""

from __future__ import annotations

import json

import httpx
import pytest

from penguinflow.workspaces.models import Workspace, WorkspaceAPIKey
from penguinflow.workspaces.services import api_key_create
from tests.factories import WorkspaceFactory
from tests.servers import asgi_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), asgi_server() as base_url:
        yield base_url


def _requests(base_url: str, secret: str) -> tuple[int, int]:
    """GET through Django and POST through the events fast path; return both statuses."""
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        read = client.get("/api/v1/contacts")
        write = client.post("/api/v1/events", content=json.dumps(
            {"type": "order.completed", "contact": {"email": "ada@example.com"}}),
            headers={"Content-Type": "application/json"})
    return read.status_code, write.status_code


def _cached_twice(server: str, secret: str) -> None:
    assert _requests(server, secret) == (200, 202)
    assert _requests(server, secret) == (200, 202)  # answered from the server's key cache now


def test_a_revoked_key_is_refused_on_the_next_request(server):
    workspace = WorkspaceFactory(slug="revoking")
    api_key, secret = api_key_create(workspace=workspace, name="soon revoked")
    _cached_twice(server, secret)
    api_key.revoked = True
    api_key.save()
    assert _requests(server, secret) == (401, 401)


def test_a_deleted_key_is_refused_on_the_next_request(server):
    workspace = WorkspaceFactory(slug="deleting-key")
    api_key, secret = api_key_create(workspace=workspace, name="soon deleted")
    _cached_twice(server, secret)
    WorkspaceAPIKey.objects.filter(pk=api_key.pk).delete()
    assert _requests(server, secret) == (401, 401)


def test_a_deleted_workspaces_key_is_refused_on_the_next_request_never_a_500(server):
    workspace = WorkspaceFactory(slug="deleting-workspace")
    _, secret = api_key_create(workspace=workspace, name="key of a workspace soon gone")
    _cached_twice(server, secret)
    Workspace.objects.get(pk=workspace.pk).delete()
    assert _requests(server, secret) == (401, 401)


def test_other_keys_keep_working_after_a_revocation(server):
    workspace = WorkspaceFactory(slug="keeping")
    revoked, revoked_secret = api_key_create(workspace=workspace, name="revoked")
    _, kept_secret = api_key_create(workspace=workspace, name="kept")
    _cached_twice(server, kept_secret)
    revoked.revoked = True
    revoked.save()
    assert _requests(server, kept_secret) == (200, 202)
    assert _requests(server, revoked_secret) == (401, 401)
