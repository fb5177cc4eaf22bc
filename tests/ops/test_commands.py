from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from contacts.models import Contact
from penguinflow.workspaces.models import Workspace


@pytest.mark.django_db
def test_create_api_key_creates_workspace_and_prints_key_last():
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "--workspace", "newco", stdout=out, stderr=err)
    key = out.getvalue().strip().splitlines()[-1]
    assert Workspace.objects.filter(slug="newco").exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/contacts").status_code == 200


@pytest.mark.django_db
def test_create_api_key_refuses_a_bad_slug():
    with pytest.raises(CommandError):
        call_command("create_api_key", "--workspace", "Not A Slug!", stdout=io.StringIO(), stderr=io.StringIO())
    assert not Workspace.objects.exists()


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_its_key_lists_demo_contacts(tmp_path, monkeypatch, settings):
    from workflows import demo

    settings.DEBUG = True
    monkeypatch.setattr(demo, "KEY_FILE", tmp_path / "demo-api-key")
    first = io.StringIO()
    call_command("seed_demo", stdout=first)
    second = io.StringIO()
    call_command("seed_demo", stdout=second)
    key_line = next(line for line in second.getvalue().splitlines() if line.startswith("API key"))
    key = key_line.split(": ", 1)[1]
    assert Workspace.objects.filter(slug="demo").count() == 1
    assert Contact.objects.filter(workspace__slug="demo").count() == 200
    assert "saved" in key_line  # the second run reuses the key instead of minting another
    zones = set(Contact.objects.filter(workspace__slug="demo").values_list("timezone", flat=True))
    assert len(zones) >= 5
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.get("/api/v1/contacts?limit=500")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 200
    assert client.get("/api/v1/templates").json()["results"]
    assert client.get("/api/v1/campaigns").json()["results"]
    workflows = {w["name"]: w for w in client.get("/api/v1/workflows?limit=500").json()["results"]}
    assert len(workflows) == 6  # the welcome series and five installed templates, each installed once
    welcome = workflows["Welcome series"]
    assert client.post(f"/api/v1/workflows/{welcome['id']}/validate", {}, format="json").json()["errors"] == []
    live = sorted(name for name, w in workflows.items() if w["status"] == "active")
    assert live == ["Lead qualification by company size", "NPS survey and follow-up"]
    assert "Templates installed: none new" in second.getvalue()
    stats = client.get("/api/v1/workflow-templates/lead-qualification").json()["stats"]
    assert stats["installs"] == 1 and stats["published"] == 1
    assert stats["completion_rate"] == 1.0  # the demo's own figures, above the minimum sample
    from django.contrib.auth import authenticate

    assert authenticate(username="demo", password="demo") is not None
    from penguinflow.workspaces.models import Membership

    assert Membership.objects.get(user__username="demo", workspace__slug="demo").role == "owner"


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())
