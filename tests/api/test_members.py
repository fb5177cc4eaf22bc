"""`GET /api/v1/members`: the people of the caller's workspace, read-only, for the builder's pickers of people."""

from __future__ import annotations

from penguinflow.workspaces.models import Membership
from tests.factories import MembershipFactory, UserFactory

BASE = "/api/v1/members"


def test_members_lists_the_workspace_people_with_their_name_and_role(api, workspace):
    ada = UserFactory(username="ada", email="ada@acme.test", first_name="Ada", last_name="Lovelace")
    bob = UserFactory(username="bob", email="bob@acme.test")
    MembershipFactory(user=ada, workspace=workspace, role=Membership.Role.ADMIN)
    MembershipFactory(user=bob, workspace=workspace, role=Membership.Role.VIEWER)
    response = api.get(BASE)
    assert response.status_code == 200, response.content
    rows = sorted(response.json()["results"], key=lambda row: row["email"])
    assert rows == [
        {"id": ada.pk, "email": "ada@acme.test", "name": "Ada Lovelace", "role": "admin"},
        {"id": bob.pk, "email": "bob@acme.test", "name": "bob", "role": "viewer"},
    ]


def test_members_never_shows_another_workspace_people(api, other_api, workspace, other_workspace):
    MembershipFactory(user=UserFactory(email="ours@acme.test"), workspace=workspace)
    MembershipFactory(user=UserFactory(email="theirs@globex.test"), workspace=other_workspace)
    assert [row["email"] for row in api.get(BASE).json()["results"]] == ["ours@acme.test"]
    assert [row["email"] for row in other_api.get(BASE).json()["results"]] == ["theirs@globex.test"]
    assert "theirs" not in api.get(f"{BASE}?q=theirs").content.decode()


def test_members_q_searches_email_and_name(api, workspace):
    MembershipFactory(user=UserFactory(email="grace@acme.test", first_name="Grace", last_name="Hopper"),
                      workspace=workspace)
    MembershipFactory(user=UserFactory(email="linus@acme.test"), workspace=workspace)
    assert [row["email"] for row in api.get(f"{BASE}?q=HOPP").json()["results"]] == ["grace@acme.test"]
    assert [row["email"] for row in api.get(f"{BASE}?q=linus@").json()["results"]] == ["linus@acme.test"]
    assert api.get(f"{BASE}?q=nobody").json()["results"] == []


def test_members_pages_with_a_cursor_and_refuses_a_bad_limit(api, workspace):
    for number in range(3):
        MembershipFactory(user=UserFactory(email=f"m{number}@acme.test"), workspace=workspace)
    first = api.get(f"{BASE}?limit=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    bad = api.get(f"{BASE}?limit=0")
    assert bad.status_code == 400 and "limit" in bad.json()["error"]["details"]
    assert api.get(f"{BASE}?q=a&q=b").status_code == 400


def test_members_is_read_only_and_needs_a_key(api, client):
    assert api.post(BASE, {"email": "x@acme.test"}, format="json").status_code == 405
    assert client.get(BASE).status_code == 401
