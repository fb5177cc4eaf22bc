"""The builder's Django side: its own login page (CSRF-protected), the app behind it on every route, logout, and
the session the app calls the API with (CSRF token required on writes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from builder.bundle import FIRST_LOAD_BUDGET_BYTES, first_load_scripts, gzipped_size
from penguinflow.workspaces.models import Membership
from tests.factories import MembershipFactory, UserFactory

BUILD = Path(__file__).resolve().parents[2] / "static" / "builder"


@pytest.fixture
def member(workspace):
    user = UserFactory(username="marketer")
    MembershipFactory(user=user, workspace=workspace, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def fake_build(tmp_path, settings):
    (tmp_path / "index.html").write_text('<!doctype html><div id="root"></div>')
    settings.BUILDER_BUILD_DIR = tmp_path
    return tmp_path


@pytest.mark.parametrize("route", ["/builder/", "/builder/workflows/some-id"])
def test_builder_sends_anonymous_visitors_to_its_login_page(db, route):
    response = Client().get(route)
    assert response.status_code == 302
    assert response["Location"] == f"/builder/login?next={route}"


def test_login_page_refuses_a_post_without_its_csrf_token(member):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/builder/login", {"username": "marketer", "password": "pw"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_with_a_wrong_password_says_so_and_logs_nobody_in(member):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/builder/login")
    token = page.cookies["csrftoken"].value
    response = client.post("/builder/login", {"username": "marketer", "password": "wrong", "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert "do not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logged_in_user_gets_the_app_on_every_route_with_a_csrf_cookie(member, fake_build):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/builder/login?next=/builder/workflows/x")
    response = client.post("/builder/login", {
        "username": "marketer", "password": "pw", "next": "/builder/workflows/x",
        "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
    })
    assert response.status_code == 302 and response["Location"] == "/builder/workflows/x"
    for route in ("/builder/", "/builder/workflows/x", "/builder/anything/deeper"):
        app = client.get(route)
        assert app.status_code == 200
        assert b'<div id="root">' in app.content
        assert "no-cache" in app["Cache-Control"]
    assert client.cookies["csrftoken"].value


def test_builder_says_how_to_build_it_when_it_is_not_built(member, settings, tmp_path):
    settings.BUILDER_BUILD_DIR = tmp_path
    client = Client()
    client.force_login(member)
    response = client.get("/builder/")
    assert response.status_code == 503
    assert "make frontend" in response.content.decode()


def test_logout_takes_a_post_and_ends_the_session(member, fake_build):
    client = Client()
    client.force_login(member)
    assert client.get("/builder/").status_code == 200
    response = client.post("/builder/logout")
    assert response.status_code == 302 and response["Location"] == "/builder/login"
    assert client.get("/builder/").status_code == 302


def test_the_session_calls_the_api_in_the_members_workspace_and_writes_need_the_csrf_token(
    member, workspace, other_workspace, fake_build,
):
    from workflows.models import Workflow

    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    client.get("/builder/")  # the app's page sets the CSRF cookie the app reads
    token = client.cookies["csrftoken"].value
    refused = client.post("/api/v1/workflows", {"name": "No token"}, content_type="application/json")
    assert refused.status_code == 403
    created = client.post("/api/v1/workflows", {"name": "With token"}, content_type="application/json",
                          headers={"X-CSRFToken": token})
    assert created.status_code == 201
    listed = client.get("/api/v1/workflows").json()["results"]
    assert [workflow["name"] for workflow in listed] == ["With token"]
    assert list(Workflow.objects.values_list("workspace__slug", flat=True)) == [workspace.slug]


def test_the_built_app_loads_at_most_its_budget_of_javascript_before_the_canvas():
    assert (BUILD / "index.html").exists(), "The builder is not built: run `make frontend` (or make test builds it)"
    scripts = first_load_scripts(BUILD)
    assert scripts, "index.html loads no script"
    assert all("CanvasPage" not in script.name for script in scripts), "the canvas must be loaded on demand"
    assert sum(gzipped_size(script) for script in scripts) <= FIRST_LOAD_BUDGET_BYTES
