"""Fixtures shared by the integration tests (real PostgreSQL and Redis), a plugin `tests/conftest.py` registers
only when pytest-django is active. tests/engine/ needs none of them: it runs without Django installed."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clear_api_key_cache():
    from penguinflow.common.auth import key_cache

    key_cache.clear()
    yield
    key_cache.clear()


@pytest.fixture(autouse=True)
def _close_kept_mail_connections():
    """Each test starts without SMTP connections an earlier test's delivery kept (its server may be gone, its
    port given to another)."""
    yield
    from templates.delivery import kept_lanes

    kept_lanes.close()


@pytest.fixture
def workspace(db):
    from tests.factories import WorkspaceFactory

    return WorkspaceFactory(slug="acme", name="Acme")


@pytest.fixture
def other_workspace(db):
    from tests.factories import WorkspaceFactory

    return WorkspaceFactory(slug="globex", name="Globex")


def _client_for(workspace):
    from rest_framework.test import APIClient

    from penguinflow.workspaces.services import api_key_create

    _, secret = api_key_create(workspace=workspace, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api(workspace):
    """An API client authenticated with a key of `workspace`."""
    return _client_for(workspace)


@pytest.fixture
def other_api(other_workspace):
    return _client_for(other_workspace)


@pytest.fixture(autouse=True)
def _truncate_unmanaged_tables(request):
    """Empty the partitioned events table after tests that commit: Django's flush skips unmanaged models."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE events_event")
