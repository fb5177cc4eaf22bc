"""Every error answers in the contract's format (CONTRACT §2), never a 500 or a traceback."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from contacts.models import Contact

pytestmark = pytest.mark.hostile


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    assert "Traceback" not in response.content.decode()
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.django_db
def test_missing_key_answers_401_in_contract_format():
    assert_error(APIClient().get("/api/v1/contacts"), 401, "not_authenticated")


@pytest.mark.django_db
def test_invalid_key_answers_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer nope.nope")
    assert_error(client.get("/api/v1/contacts"), 401, "authentication_failed")


def test_revoked_key_answers_401(api, workspace):
    from penguinflow.common.auth import key_cache
    from penguinflow.workspaces.models import WorkspaceAPIKey

    assert api.get("/api/v1/contacts").status_code == 200
    WorkspaceAPIKey.objects.filter(workspace=workspace).update(revoked=True)
    key_cache.clear()
    assert_error(api.get("/api/v1/contacts"), 401)


def test_unknown_api_path_answers_404_json(api):
    assert_error(api.get("/api/v1/no-such-thing"), 404, "not_found")


def test_unknown_id_answers_404(api):
    assert_error(api.get("/api/v1/contacts/00000000-0000-0000-0000-000000000000"), 404, "not_found")


def test_malformed_id_answers_404(api):
    assert_error(api.get("/api/v1/contacts/not-a-uuid"), 404)


def test_wrong_method_answers_405(api):
    assert_error(api.put("/api/v1/contacts", {}, format="json"), 405, "method_not_allowed")


def test_malformed_json_answers_400_and_writes_nothing(api):
    response = api.generic("POST", "/api/v1/contacts", '{"email": "a@b.test",', content_type="application/json")
    assert_error(response, 400, "malformed_json")
    assert Contact.objects.count() == 0


def test_invalid_utf8_answers_400(api):
    response = api.generic("POST", "/api/v1/contacts", b'{"email": "\xff\xfe@b.test"}', content_type="application/json")
    assert_error(response, 400, "malformed_json")
    assert Contact.objects.count() == 0


def test_top_level_array_answers_400(api):
    error = assert_error(api.post("/api/v1/contacts", [1, 2], format="json"), 400, "validation_error")
    assert error["details"]


def test_oversized_body_answers_413(api):
    body = '{"email": "a@b.test", "fields": {"x": "' + "x" * (1024 * 1024 + 10) + '"}}'
    error = assert_error(
        api.generic("POST", "/api/v1/contacts", body, content_type="application/json"), 413, "payload_too_large"
    )
    assert error["details"]["limit_bytes"] == 1024 * 1024
    assert Contact.objects.count() == 0


def test_validation_errors_name_field_paths(api):
    error = assert_error(
        api.post(
            "/api/v1/contacts",
            {"email": "not-an-email", "timezone": "Mars/Olympus", "status": "sleeping", "tags": ["ok", ""]},
            format="json",
        ),
        400,
        "validation_error",
    )
    assert set(error["details"]) >= {"email", "timezone", "status", "tags[1]"}
    assert "IANA" in error["details"]["timezone"]


def test_unsupported_media_type_answers_415(api):
    assert_error(api.generic("POST", "/api/v1/contacts", "email=a", content_type="text/plain"), 415)
