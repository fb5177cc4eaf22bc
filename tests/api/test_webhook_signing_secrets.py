"""`/api/v1/webhook-signing-secrets`: rotate shows a new secret once (the old ones sign on through the overlap),
the list shows hints only, revoke stops a secret at once; each workspace sees only its own; ops rotate with a
command."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from penguinflow.workspaces.models import WebhookSigningSecret
from penguinflow.workspaces.services import signing_secrets_in_use

BASE = "/api/v1/webhook-signing-secrets"


def test_the_first_rotation_makes_the_first_secret_and_shows_it_once(api, workspace):
    created = api.post(f"{BASE}/rotate", {}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["hint"] == body["secret"][:10] + "…"
    assert (body["expires_at"], body["revoked_at"], body["in_use"]) == (None, None, True)
    listed = api.get(BASE).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert body["secret"] not in api.get(BASE).content.decode()


def test_a_rotation_keeps_the_old_secret_signing_until_the_overlap_ends(api, workspace):
    first = api.post(f"{BASE}/rotate", {}, format="json").json()
    before = timezone.now()
    second = api.post(f"{BASE}/rotate", {"overlap_hours": 2}, format="json").json()
    rows = {row["id"]: row for row in api.get(BASE).json()["results"]}
    assert rows[first["id"]]["in_use"] and rows[second["id"]]["in_use"]
    old = WebhookSigningSecret.objects.get(pk=first["id"])
    assert before + timedelta(hours=2) <= old.expires_at <= timezone.now() + timedelta(hours=2)
    in_use = signing_secrets_in_use(workspace=workspace)
    assert [str(s.pk) for s in in_use] == [second["id"], first["id"]]  # newest first
    assert signing_secrets_in_use(workspace=workspace, now=timezone.now() + timedelta(hours=3))[0].pk == in_use[0].pk
    assert len(signing_secrets_in_use(workspace=workspace, now=timezone.now() + timedelta(hours=3))) == 1


@pytest.mark.parametrize("overlap", [-1, 1000, "soon", "2", False])
def test_an_overlap_out_of_range_is_a_400(api, overlap):
    response = api.post(f"{BASE}/rotate", {"overlap_hours": overlap}, format="json")
    assert response.status_code == 400
    assert "overlap_hours" in response.json()["error"]["details"]


def test_revoke_stops_a_secret_at_once(api, workspace):
    secret = api.post(f"{BASE}/rotate", {}, format="json").json()
    assert api.delete(f"{BASE}/{secret['id']}").status_code == 204
    assert signing_secrets_in_use(workspace=workspace) == []
    row = api.get(BASE).json()["results"][0]
    assert row["revoked_at"] is not None and row["in_use"] is False


def test_another_workspace_cannot_see_or_revoke_the_secrets(api, other_api):
    secret = api.post(f"{BASE}/rotate", {}, format="json").json()
    assert other_api.get(BASE).json()["results"] == []
    assert other_api.delete(f"{BASE}/{secret['id']}").status_code == 404
    assert WebhookSigningSecret.objects.get(pk=secret["id"]).revoked_at is None


def test_ops_rotate_with_a_command_that_prints_the_secret_last(workspace):
    out = io.StringIO()
    call_command("rotate_webhook_secret", "--workspace", workspace.slug, "--overlap-hours", "1", stdout=out,
                 stderr=io.StringIO())
    printed = out.getvalue().strip().splitlines()[-1]
    assert [s.secret for s in signing_secrets_in_use(workspace=workspace)] == [printed]
    with pytest.raises(CommandError):
        call_command("rotate_webhook_secret", "--workspace", "nobody", stdout=io.StringIO(), stderr=io.StringIO())
