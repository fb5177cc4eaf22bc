"""`/api/v1/workspace/members`: owners manage everyone, admins (and API keys) editors and viewers, the last owner
stays; editors and viewers only read."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse

from penguinflow.workspaces.models import Membership
from penguinflow.workspaces.services import member_role_change
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

BASE = "/api/v1/workspace/members"
Role = Membership.Role


def _session(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def _patch(client: Client, membership: Membership, role: str):
    return client.patch(f"{BASE}/{membership.pk}", {"role": role}, content_type="application/json")


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


@pytest.fixture
def owner(workspace) -> Membership:
    return MembershipFactory(workspace=workspace, role=Role.OWNER,
                             user=UserFactory(email="olga@acme.test", first_name="Olga", last_name="Owner"))


def test_the_list_shows_who_with_which_role_since_when_to_every_member(workspace, owner):
    viewer = MembershipFactory(workspace=workspace, role=Role.VIEWER, user=UserFactory(username="vic"))
    MembershipFactory(role=Role.OWNER)  # another workspace's owner
    response = _session(viewer).get(BASE)
    assert response.status_code == 200, response.content
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {owner.pk, viewer.pk}
    assert rows[owner.pk] == {"id": owner.pk, "user_id": owner.user.pk, "email": "olga@acme.test",
                              "name": "Olga Owner", "role": "owner",
                              "joined_at": owner.created_at.isoformat().replace("+00:00", "Z")}
    assert rows[viewer.pk]["name"] == "vic" and rows[viewer.pk]["role"] == "viewer"


def test_an_owner_adds_an_existing_user_by_email_with_a_role(workspace, owner):
    ada = UserFactory(email="Ada@Acme.test")
    response = _session(owner).post(BASE, {"email": "ada@acme.TEST", "role": "admin"},
                                    content_type="application/json")
    assert response.status_code == 201, response.content
    membership = Membership.objects.get(workspace=workspace, user=ada)
    assert membership.role == Role.ADMIN and response.json()["id"] == membership.pk


def test_adding_someone_without_an_account_or_already_a_member_changes_nothing(workspace, owner):
    client = _session(owner)
    error = _error(client.post(BASE, {"email": "nobody@acme.test", "role": "editor"},
                               content_type="application/json"), 404, "not_found")
    assert "email" in error["details"]
    _error(client.post(BASE, {"email": "olga@acme.test", "role": "viewer"}, content_type="application/json"),
           409, "already_member")
    error = _error(client.post(BASE, {"email": "olga@acme.test", "role": "king"}, content_type="application/json"),
                   400, "validation_error")
    assert set(error["details"]) == {"role"}
    assert list(Membership.objects.filter(workspace=workspace).values_list("role", flat=True)) == ["owner"]


def test_an_owner_promotes_and_demotes_anyone_while_another_owner_remains(workspace, owner):
    editor = MembershipFactory(workspace=workspace, role=Role.EDITOR)
    client = _session(owner)
    assert _patch(client, editor, "owner").json()["role"] == "owner"
    assert _patch(client, owner, "viewer").status_code == 200  # the other owner remains
    assert Membership.objects.get(pk=owner.pk).role == Role.VIEWER


def test_the_last_owner_can_be_neither_demoted_nor_removed(workspace, owner):
    client = _session(owner)
    error = _error(_patch(client, owner, "admin"), 409, "last_owner")
    assert "last owner" in error["message"] and "another member an owner" in error["message"]
    _error(client.delete(f"{BASE}/{owner.pk}"), 409, "last_owner")
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_an_admin_manages_editors_and_viewers_but_not_owners_or_admins(workspace, owner):
    admin = MembershipFactory(workspace=workspace, role=Role.ADMIN)
    other_admin = MembershipFactory(workspace=workspace, role=Role.ADMIN)
    editor = MembershipFactory(workspace=workspace, role=Role.EDITOR)
    client = _session(admin)
    assert _patch(client, editor, "viewer").json()["role"] == "viewer"
    newcomer = UserFactory(email="new@acme.test")
    assert client.post(BASE, {"email": "new@acme.test", "role": "editor"},
                       content_type="application/json").status_code == 201
    for refused in (_patch(client, editor, "admin"), _patch(client, owner, "editor"),
                    _patch(client, other_admin, "editor"), client.delete(f"{BASE}/{owner.pk}"),
                    client.delete(f"{BASE}/{other_admin.pk}"),
                    client.post(BASE, {"email": UserFactory().email, "role": "owner"},
                                content_type="application/json")):
        error = _error(refused, 403, "permission_denied")
        assert error["details"]["required_role"] == "owner"
    assert client.delete(f"{BASE}/{editor.pk}").status_code == 204
    roles = dict(Membership.objects.filter(workspace=workspace).values_list("pk", "role"))
    assert roles == {owner.pk: "owner", admin.pk: "admin", other_admin.pk: "admin",
                     Membership.objects.get(user=newcomer).pk: "editor"}


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_editors_and_viewers_change_no_member(workspace, owner, role):
    member = MembershipFactory(workspace=workspace, role=role)
    client = _session(member)
    UserFactory(email="new@acme.test")
    for refused in (client.post(BASE, {"email": "new@acme.test", "role": "viewer"}, content_type="application/json"),
                    _patch(client, member, "owner"), client.delete(f"{BASE}/{owner.pk}")):
        error = _error(refused, 403, "permission_denied")
        assert error["details"] == {"required_role": "admin", "role": role}
    assert Membership.objects.filter(workspace=workspace).count() == 2
    assert Membership.objects.get(pk=member.pk).role == role


def test_an_api_key_acts_as_an_admin(api, workspace, owner):
    UserFactory(email="bot-made@acme.test")
    assert api.post(BASE, {"email": "bot-made@acme.test", "role": "viewer"}, format="json").status_code == 201
    _error(api.patch(f"{BASE}/{owner.pk}", {"role": "viewer"}, format="json"), 403, "permission_denied")


def test_another_workspace_member_is_a_404_to_an_owner(workspace, owner):
    theirs = MembershipFactory(role=Role.OWNER)
    client = _session(owner)
    _error(_patch(client, theirs, "viewer"), 404, "not_found")
    _error(client.delete(f"{BASE}/{theirs.pk}"), 404, "not_found")
    assert Membership.objects.get(pk=theirs.pk).role == Role.OWNER


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    workspace = WorkspaceFactory()
    first, second = (MembershipFactory(workspace=workspace, role=Role.OWNER) for _ in range(2))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(membership):
        try:
            barrier.wait(timeout=10)
            member_role_change(membership=membership, role=Role.EDITOR, actor_role=Role.OWNER)
            outcomes.append("demoted")
        except Exception as error:  # the loser's Conflict
            outcomes.append(getattr(error, "code", repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(m,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["demoted", "last_owner"]
    assert Membership.objects.filter(workspace=workspace, role=Role.OWNER).count() == 1


def test_the_migration_makes_each_workspace_earliest_admin_its_owner(db):
    migration = importlib.import_module("penguinflow.workspaces.migrations.0007_owner_role")
    acme, globex, initech = WorkspaceFactory(), WorkspaceFactory(), WorkspaceFactory()
    first_admin = MembershipFactory(workspace=acme, role=Role.ADMIN)
    later_admin = MembershipFactory(workspace=acme, role=Role.ADMIN)
    editor_only = MembershipFactory(workspace=globex, role=Role.EDITOR)
    owned = MembershipFactory(workspace=initech, role=Role.OWNER)
    admin_beside_owner = MembershipFactory(workspace=initech, role=Role.ADMIN)
    migration.earliest_admin_owns(apps, None)
    roles = dict(Membership.objects.values_list("pk", "role"))
    assert roles == {first_admin.pk: "owner", later_admin.pk: "admin", editor_only.pk: "editor",
                     owned.pk: "owner", admin_beside_owner.pk: "admin"}


def test_a_workspace_made_in_the_admin_is_owned_by_its_creator(db, client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(reverse("admin:workspaces_workspace_add"), {
        "slug": "initech", "name": "Initech", "timezone": "UTC", "send_rate_per_minute": 600, "settings": "{}",
        "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.content[:2000]
    assert list(Membership.objects.filter(workspace__slug="initech").values_list("user", "role")) == [
        (staff.pk, "owner")]
