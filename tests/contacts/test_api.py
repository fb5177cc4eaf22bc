from __future__ import annotations

import pytest

from contacts.models import Contact, Suppression, email_hash
from events.models import Event
from tests.factories import ContactFactory


def events_of(contact_id, type_=None):
    queryset = Event.objects.filter(contact_id=contact_id).order_by("id")
    if type_:
        queryset = queryset.filter(type=type_)
    return list(queryset)


def test_create_contact_returns_201_and_emits_created_and_tagged(api, workspace):
    response = api.post(
        "/api/v1/contacts",
        {"email": "Ada@Example.com", "first_name": "Ada", "timezone": "Europe/Paris", "tags": ["trial", "vip"],
         "fields": {"plan": "pro"}, "score": 5, "external_id": "crm-1"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["status"] == "subscribed"
    assert body["tags"] == ["trial", "vip"]
    assert set(body) == {"id", "email", "first_name", "last_name", "timezone", "status", "score", "fields", "tags",
                         "external_id", "phone", "channels", "preferred_channel", "topic_opt_outs", "predictions",
                         "interests", "created_at", "updated_at"}
    types = [e.type for e in events_of(body["id"])]
    assert types == ["contact.created", "contact.tagged", "contact.tagged"]
    assert all(e.workspace_id == workspace.id for e in events_of(body["id"]))


def test_duplicate_email_is_409_case_insensitively_and_writes_nothing(api, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com")
    events_before = Event.objects.count()
    response = api.post("/api/v1/contacts", {"email": "ADA@example.com"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"email": "Already in use."}
    assert Contact.objects.count() == 1
    assert Event.objects.count() == events_before


def test_same_email_in_another_workspace_is_fine(api, other_workspace):
    ContactFactory(workspace=other_workspace, email="ada@example.com")
    assert api.post("/api/v1/contacts", {"email": "ada@example.com"}, format="json").status_code == 201


def test_list_filters_by_email_tag_status_and_q(api, workspace):
    ContactFactory(workspace=workspace, email="a@x.test", tags=["vip"], first_name="Ada")
    ContactFactory(workspace=workspace, email="b@x.test", tags=[], status="unsubscribed", first_name="Bob")
    ContactFactory(workspace=workspace, email="c@x.test", tags=["vip", "beta"], first_name="Cy")

    def emails(query):
        response = api.get(f"/api/v1/contacts?{query}")
        assert response.status_code == 200, response.content
        return sorted(c["email"] for c in response.json()["results"])

    assert emails("tag=vip") == ["a@x.test", "c@x.test"]
    assert emails("status=unsubscribed") == ["b@x.test"]
    assert emails("email=A@X.TEST") == ["a@x.test"]
    assert emails("q=bob") == ["b@x.test"]
    assert api.get("/api/v1/contacts?status=sleeping").status_code == 400


def test_list_is_cursor_paginated_newest_first(api, workspace):
    for n in range(5):
        ContactFactory(workspace=workspace, email=f"p{n}@x.test")
    first = api.get("/api/v1/contacts?limit=2").json()
    assert len(first["results"]) == 2 and first["next"]
    assert "cursor=" in first["next"]
    seen = [c["email"] for c in first["results"]]
    page = first
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [c["email"] for c in page["results"]]
    assert sorted(seen) == [f"p{n}@x.test" for n in range(5)]
    assert seen[0] == "p4@x.test"


def test_patch_emits_updated_with_old_and_new_values(api, workspace):
    contact = ContactFactory(workspace=workspace, first_name="Ada", score=1)
    response = api.patch(f"/api/v1/contacts/{contact.id}", {"first_name": "Augusta", "score": 3}, format="json")
    assert response.status_code == 200
    (event,) = events_of(contact.id, "contact.updated")
    assert event.properties == {"changes": {"first_name": ["Ada", "Augusta"], "score": [1, 3]}}


def test_patch_without_change_emits_nothing(api, workspace):
    contact = ContactFactory(workspace=workspace, first_name="Ada")
    assert api.patch(f"/api/v1/contacts/{contact.id}", {"first_name": "Ada"}, format="json").status_code == 200
    assert events_of(contact.id) == []


def test_patch_with_invalid_value_changes_nothing(api, workspace):
    contact = ContactFactory(workspace=workspace, first_name="Ada", timezone="Europe/Paris")
    response = api.patch(
        f"/api/v1/contacts/{contact.id}", {"first_name": "Bea", "timezone": "Nowhere/Land"}, format="json"
    )
    assert response.status_code == 400
    contact.refresh_from_db()
    assert (contact.first_name, contact.timezone) == ("Ada", "Europe/Paris")
    assert events_of(contact.id) == []


def test_tags_endpoint_adds_and_removes_and_emits_only_real_changes(api, workspace):
    contact = ContactFactory(workspace=workspace, tags=["a", "b"])
    response = api.post(f"/api/v1/contacts/{contact.id}/tags", {"add": ["c", "a"], "remove": ["b", "zz"]},
                        format="json")
    assert response.status_code == 200
    assert response.json()["tags"] == ["a", "c"]
    events = events_of(contact.id)
    assert [(e.type, e.properties["tag"]) for e in events] == [("contact.tagged", "c"), ("contact.untagged", "b")]


def test_tags_endpoint_needs_something_to_do(api, workspace):
    contact = ContactFactory(workspace=workspace)
    response = api.post(f"/api/v1/contacts/{contact.id}/tags", {}, format="json")
    assert response.status_code == 400


def test_delete_erases_person_and_keeps_hashed_suppression(api, workspace):
    contact = ContactFactory(workspace=workspace, email="gone@x.test")
    api.post(f"/api/v1/contacts/{contact.id}/tags", {"add": ["x"]}, format="json")
    assert events_of(contact.id)
    response = api.delete(f"/api/v1/contacts/{contact.id}")
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert events_of(contact.id) == []
    suppression = Suppression.objects.get(workspace=workspace)
    assert suppression.email_hash == email_hash("GONE@x.test")
    assert suppression.reason == "erased"
    assert "gone" not in suppression.email_hash


def test_viewer_session_can_read_but_not_write(client, workspace):
    from tests.factories import MembershipFactory

    membership = MembershipFactory(workspace=workspace, role="viewer")
    client.force_login(membership.user)
    assert client.get("/api/v1/contacts").status_code == 200
    response = client.post("/api/v1/contacts", {"email": "v@x.test"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_editor_session_writes_in_own_workspace(workspace):
    from rest_framework.test import APIClient

    from tests.factories import MembershipFactory

    membership = MembershipFactory(workspace=workspace, role="editor")
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(membership.user)
    response = client.post("/api/v1/contacts", {"email": "e@x.test"}, format="json")
    assert response.status_code == 201
    assert Contact.objects.get(email="e@x.test").workspace == workspace


@pytest.mark.parametrize("payload,field", [
    ({"email": "x@y.test", "fields": []}, "fields"),
    ({"email": "x@y.test", "score": "many"}, "score"),
    ({"email": "x@y.test", "tags": "vip"}, "tags"),
    ({"email": "x@y.test", "tags": ["x" * 65]}, "tags[0]"),
    ({}, "email"),
])
def test_bad_contact_payloads_are_400_with_field_paths(api, payload, field):
    response = api.post("/api/v1/contacts", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert Contact.objects.count() == 0
