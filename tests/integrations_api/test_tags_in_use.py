"""`GET /api/v1/contacts/tags`: the tags in use in a workspace, for the tag dropdowns of integrations (Zapier)."""

from __future__ import annotations

import pytest

from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_lists_the_workspaces_tags_by_name_with_their_counts(workspace, other_workspace, api):
    ContactFactory(workspace=workspace, email="a@example.com", tags=["vip", "trial"])
    ContactFactory(workspace=workspace, email="b@example.com", tags=["vip"])
    ContactFactory(workspace=workspace, email="c@example.com", tags=[])
    ContactFactory(workspace=other_workspace, email="d@example.com", tags=["secret"])

    response = api.get("/api/v1/contacts/tags")

    assert response.status_code == 200, response.content
    assert response.json() == {"results": [{"name": "trial", "contacts": 1}, {"name": "vip", "contacts": 2}]}


def test_posting_tags_to_a_contact_still_changes_its_tags(workspace, api):
    contact = ContactFactory(workspace=workspace, email="a@example.com", tags=[])

    response = api.post(f"/api/v1/contacts/{contact.pk}/tags", {"add": ["vip"]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["vip"]
