"""Every HTML page we serve carries a Content-Security-Policy that lets no injected script run (no
'unsafe-inline' for scripts anywhere), the usual security headers, and inline styles only with the nonce of its
own response. JSON answers go without a policy (it would govern nothing there)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from penguinflow.workspaces.models import Membership
from tests.factories import ContactFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.hostile


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def _assert_strict(response, *, evaluates: bool = False) -> dict[str, list[str]]:
    assert response["Content-Type"].startswith("text/html")
    policy = _policy(response)
    assert "'unsafe-inline'" not in policy["script-src"]
    # Only the builder's app compiles its forms' schemas (ajv): every other page refuses eval too.
    assert ("'unsafe-eval'" in policy["script-src"]) == evaluates
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    return policy


def _nonce_of_inline_styles(html: str) -> set[str]:
    styles = re.findall(r"<style([^>]*)>", html)
    assert styles, "the page was expected to have its inline style"
    return {re.search(r'nonce="([^"]+)"', attributes).group(1) for attributes in styles}


@pytest.mark.django_db
def test_the_builders_login_page_styles_itself_only_with_its_nonce():
    first, second = Client().get("/builder/login"), Client().get("/builder/login")

    policy = _assert_strict(first)
    nonces = _nonce_of_inline_styles(first.content.decode())
    assert [f"'nonce-{nonce}'" for nonce in nonces] == [value for value in policy["style-src"] if "nonce" in value]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert nonces != _nonce_of_inline_styles(second.content.decode()), "a nonce is never reused"


def test_the_builder_app_and_the_admin_are_strict(workspace, settings, tmp_path):
    (tmp_path / "index.html").write_text('<!doctype html><script type="module" src="/static/builder/a.js"></script>')
    settings.BUILDER_BUILD_DIR = tmp_path
    user = UserFactory(username="ops", is_staff=True, is_superuser=True)
    MembershipFactory(user=user, workspace=workspace, role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(user)

    for path in ("/builder/", "/builder/workflows/x", "/admin/", "/admin/workflows/enrollment/"):
        policy = _assert_strict(client.get(path), evaluates=path.startswith("/builder/"))
        assert "'unsafe-inline'" not in policy["style-src"], path


def test_the_contacts_public_pages_are_strict(workspace):
    from templates.tracking import preferences_token

    contact = ContactFactory(workspace=workspace)
    for response in (Client().get(f"/p/{preferences_token(contact.pk)}"), Client().get("/u/preview")):
        policy = _assert_strict(response)
        assert {f"'nonce-{n}'" for n in _nonce_of_inline_styles(response.content.decode())} <= set(policy["style-src"])


@pytest.mark.django_db
def test_the_api_docs_load_their_scripts_from_files():
    swagger = Client().get("/api/docs/")
    _assert_strict(swagger)
    assert "<script>" not in swagger.content.decode(), "Swagger UI's start-up script must be a file of its own"
    started = Client().get("/api/docs/?script")
    assert started.status_code == 200 and "SwaggerUIBundle" in started.content.decode()
    redoc = Client().get("/api/redoc/")
    assert "'unsafe-inline'" not in _assert_strict(redoc)["script-src"]


def test_json_answers_carry_no_policy(api):
    response = api.get("/api/v1/me")
    assert response.status_code == 200 and "Content-Security-Policy" not in response
