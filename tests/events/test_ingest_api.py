from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from events.models import Event, EventKey
from tests.factories import ContactFactory


def stored(workspace, type_=None):
    queryset = Event.objects.for_workspace(workspace).order_by("id")
    if type_:
        queryset = queryset.filter(type=type_)
    return list(queryset)


def event(**overrides):
    body = {"type": "order.completed", "contact": {"email": "ada@example.com"}, "properties": {"total": 42}}
    body.update(overrides)
    return body


def test_single_event_is_stored_and_answered_202(post, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com")
    response = post(event(id="o-1", occurred_at="2026-11-22T10:00:00+01:00"))
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    (row,) = stored(workspace)
    assert row.type == "order.completed"
    assert row.properties == {"total": 42}
    assert row.client_id == "o-1"
    assert row.source == "api"
    assert row.processed_at is None
    assert row.occurred_at.isoformat() == "2026-11-22T09:00:00+00:00"


def test_occurred_at_defaults_to_receipt(post, workspace):
    before = timezone.now()
    assert post(event()).status_code == 202
    row = stored(workspace, "order.completed")[0]
    assert before <= row.occurred_at <= timezone.now()


def test_an_offset_beyond_what_postgresql_takes_is_stored_as_the_same_moment_in_utc(post, workspace):
    # ISO 8601 allows offsets up to ±23:59; PostgreSQL refused +21:20 with a 500 before moments were stored in UTC.
    assert post(event(occurred_at="2026-11-22T10:00:00+21:20")).status_code == 202
    row = stored(workspace, "order.completed")[0]
    assert row.occurred_at.isoformat() == "2026-11-21T12:40:00+00:00"


def test_batch_stores_valid_items_and_lists_invalid_ones_with_field_paths(post, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com")
    response = post({"events": [
        event(id="a"),
        {"type": "Not A Type", "contact": {"email": "ada@example.com"}},
        event(occurred_at="2026-11-22T10:00:00"),
        event(contact={"email": "ada@example.com", "id": "2b1e0f8a-1c39-4a57-9a8d-3f0d4a1c2b3e"}),
        event(type=42, properties=[1, 2]),
        event(id="b"),
    ]})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["accepted"] == 2
    assert body["duplicates"] == 0
    assert [entry["index"] for entry in body["rejected"]] == [1, 2, 3, 4]
    errors = {entry["index"]: entry["errors"] for entry in body["rejected"]}
    assert set(errors[1]) == {"type"}
    assert "time zone" in errors[2]["occurred_at"]
    assert "exactly one" in errors[3]["contact"]
    assert set(errors[4]) == {"type", "properties"}
    assert sorted(e.client_id for e in stored(workspace, "order.completed")) == ["a", "b"]


@pytest.mark.parametrize(
    ("item", "path", "fragment"),
    [
        ({"type": 7, "contact": {"email": "a@x.test"}}, "type", "string"),
        ({"contact": {"email": "a@x.test"}}, "type", "Required"),
        ({"type": "order.completed"}, "contact", "Required"),
        ({"type": "order.completed", "contact": {}}, "contact", "exactly one"),
        ({"type": "order.completed", "contact": {"email": "a@x.test", "external_id": "c1"}}, "contact", "exactly one"),
        ({"type": "order.completed", "contact": {"id": "nope"}}, "contact.id", "UUID"),
        ({"type": "order.completed", "contact": {"id": "2b1e0f8a-1c39-4a57-9a8d-3f0d4a1c2b3e"}}, "contact.id",
         "No contact"),
        ({"type": "order.completed", "contact": {"external_id": "unknown"}}, "contact.external_id", "No contact"),
        ({"type": "order.completed", "contact": {"email": "not-an-address"}}, "contact.email", "valid email"),
        ({"type": "order.completed", "contact": {"email": 5}}, "contact.email", "string"),
        ({"type": "order.completed", "contact": {"phone": "1"}}, "contact.phone", "Unknown"),
        ({"type": "order.completed", "contact": "ada"}, "contact", "object"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "occurred_at": "yesterday"}, "occurred_at",
         "ISO 8601"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "occurred_at": "2026-11-22T10:00:00"},
         "occurred_at", "time zone"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "occurred_at": 1700000000}, "occurred_at",
         "ISO 8601"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "properties": "x"}, "properties", "object"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "properties": None}, "properties", "object"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "properties": {"k": "x" * 33_000}},
         "properties", "32 KiB"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "properties": {"k": "a\u0000b"}},
         "properties", "NUL"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "id": "x" * 129}, "id", "128"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "id": 12}, "id", "string"),
        ({"type": "order", "contact": {"email": "a@x.test"}}, "type", "custom type"),
        ({"type": "Order.Completed", "contact": {"email": "a@x.test"}}, "type", "custom type"),
        ({"type": "campaign.started", "properties": {}}, "properties.campaign_id", "campaign"),
        ({"type": "campaign.started", "contact": {"email": "a@x.test"},
          "properties": {"campaign_id": "2b1e0f8a-1c39-4a57-9a8d-3f0d4a1c2b3e"}}, "contact", "no contact"),
        ({"type": "order.completed", "contact": {"email": "a@x.test"}, "source": "x"}, "source", "Unknown"),
    ],
)
def test_bad_items_are_rejected_with_their_field_path(post, workspace, item, path, fragment):
    response = post({"events": [item, event(id="good")]})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["accepted"] == 1
    (rejected,) = body["rejected"]
    assert rejected["index"] == 0
    assert path in rejected["errors"], rejected
    assert fragment.lower() in rejected["errors"][path].lower()
    single = post(item)
    assert single.status_code == 400
    error = single.json()["error"]
    assert error["code"] == "validation_error"
    assert path in error["details"]


def test_timestamp_more_than_a_day_ahead_is_refused_and_says_the_limit(post, workspace):
    ahead = (timezone.now() + timedelta(days=1, minutes=5)).isoformat()
    response = post(event(occurred_at=ahead))
    assert response.status_code == 400
    assert "1 day in the future" in response.json()["error"]["details"]["occurred_at"]
    within = (timezone.now() + timedelta(hours=23)).isoformat()
    assert post(event(occurred_at=within)).status_code == 202


def test_campaign_level_event_has_no_contact(post, workspace):
    response = post({"type": "campaign.started", "properties": {"campaign_id": "2b1e0f8a-1c39-4a57-9a8d-3f0d4a1c2b3e"}})
    assert response.status_code == 202, response.content
    (row,) = stored(workspace)
    assert row.contact_id is None


def test_contact_by_id_and_external_id(post, workspace, other_workspace):
    mine = ContactFactory(workspace=workspace, external_id="crm-1")
    theirs = ContactFactory(workspace=other_workspace, external_id="crm-2")
    response = post({"events": [
        event(contact={"id": str(mine.id)}),
        event(contact={"external_id": "crm-1"}),
        event(contact={"id": str(theirs.id)}),
        event(contact={"external_id": "crm-2"}),
    ]})
    body = response.json()
    assert body["accepted"] == 2
    assert [entry["index"] for entry in body["rejected"]] == [2, 3]
    assert {e.contact_id for e in stored(workspace, "order.completed")} == {mine.id}
    assert not Event.objects.filter(contact_id=theirs.id).exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[1, 2]", "validation_error"),
        (b'"just a string"', "validation_error"),
        (b"42", "validation_error"),
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (b'{"type": "order.completed", "contact": {"email": "caf\xe9@x.test"}}', "invalid_utf8"),
        (b'{"events": "nope"}', "validation_error"),
        (b'{"events": []}', "validation_error"),
        (b'{"events": [], "type": "x.y"}', "validation_error"),
    ],
)
def test_bodies_that_are_not_an_event_or_a_batch_are_400(post, workspace, body, code):
    response = post(body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert Event.objects.count() == 0
    assert Contact.objects.count() == 0


def test_lone_surrogate_is_rejected_per_item(post, workspace):
    raw = b'{"events": [{"type": "order.completed", "contact": {"email": "a@x.test"}, "properties": {"k": "\\ud800"}},' \
          b' {"type": "order.completed", "contact": {"email": "a@x.test"}, "id": "\\udc00"}, ' \
          b' {"type": "order.completed", "contact": {"email": "a@x.test"}}]}'
    response = post(raw)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["accepted"] == 1
    assert [entry["index"] for entry in body["rejected"]] == [0, 1]


def test_batch_of_1001_is_400_and_stores_nothing(post, workspace):
    response = post({"events": [event() for _ in range(1001)]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "1000" in error["message"]
    assert "events" in error["details"]
    assert Event.objects.count() == 0


def test_batch_of_1000_is_accepted(post, workspace):
    response = post({"events": [event(contact={"email": f"p{i % 50}@x.test"}) for i in range(1000)]})
    assert response.status_code == 202
    assert response.json()["accepted"] == 1000
    assert Contact.objects.for_workspace(workspace).count() == 50


def test_body_over_5_mib_is_413(post, workspace):
    big = {"events": [event(properties={"pad": "x" * 30_000}) for _ in range(180)]}
    data = json.dumps(big).encode()
    assert len(data) > 5 * 1024 * 1024
    response = post(data)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert Event.objects.count() == 0


def test_batch_where_nothing_is_valid_is_400_with_paths(post, workspace):
    response = post({"events": [{"type": "bad"}, {"type": "x.y"}]})
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert "events[0].type" in details
    assert "events[1].contact" in details


def test_same_id_twice_in_one_batch_is_one_event(post, workspace):
    response = post({"events": [event(id="dup"), event(id="dup", properties={"total": 1}), event(id="other")]})
    assert response.json() == {"accepted": 2, "duplicates": 1, "rejected": []}
    rows = stored(workspace, "order.completed")
    assert sorted(r.client_id for r in rows) == ["dup", "other"]
    assert next(r for r in rows if r.client_id == "dup").properties == {"total": 42}


def test_same_id_across_requests_and_timestamps_is_a_duplicate(post, workspace):
    assert post(event(id="once", occurred_at="2026-11-22T10:00:00Z")).json()["accepted"] == 1
    again = post(event(id="once", occurred_at="2026-11-20T08:00:00Z"))
    assert again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    ancient = post(event(id="once", occurred_at="2019-01-01T00:00:00Z"))
    assert ancient.json()["duplicates"] == 1
    assert len(stored(workspace, "order.completed")) == 1
    assert EventKey.objects.filter(workspace=workspace, key="api:once").count() == 1


def test_same_id_in_another_workspace_is_not_a_duplicate(post, other_api, workspace, other_workspace):
    assert post(event(id="shared")).json()["accepted"] == 1
    response = other_api.post("/api/v1/events", event(id="shared"), format="json")
    assert response.json()["accepted"] == 1


def test_unknown_email_creates_exactly_one_contact_even_in_two_cases(post, workspace):
    response = post({"events": [event(contact={"email": "New@Example.com"}),
                                 event(contact={"email": "new@example.COM"})]})
    assert response.json()["accepted"] == 2
    (contact,) = Contact.objects.for_workspace(workspace)
    assert contact.email == "new@example.com"
    assert contact.status == "subscribed"
    types = [e.type for e in Event.objects.filter(contact_id=contact.id).order_by("id")]
    assert types == ["contact.created", "order.completed", "order.completed"]
    post(event(contact={"email": "NEW@example.com"}))
    assert Contact.objects.for_workspace(workspace).count() == 1
    assert Event.objects.filter(contact_id=contact.id, type="contact.created").count() == 1


def test_existing_contact_in_mixed_case_is_found(post, workspace):
    contact = ContactFactory(workspace=workspace, email="Mixed@Example.com")
    post(event(contact={"email": "mixed@example.com"}))
    assert Contact.objects.count() == 1
    assert stored(workspace, "order.completed")[0].contact_id == contact.id


@pytest.mark.django_db(transaction=True)
def test_202_means_committed_another_connection_sees_the_rows(workspace, api):
    response = api.post("/api/v1/events", {"events": [event(id="c1"), event(id="c2")]}, format="json")
    assert response.status_code == 202
    settings_dict = connection.settings_dict
    with psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432,
                         user=settings_dict["USER"], dbname=settings_dict["NAME"]) as other:
        count = other.execute("SELECT count(*) FROM events_event WHERE workspace_id = %s AND type = %s",
                              [workspace.id, "order.completed"]).fetchone()[0]
    assert count == 2


def test_missing_or_bad_key_is_401_in_the_contract_format(client, workspace):
    response = client.post("/api/v1/events", event(), content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"
    response = client.post("/api/v1/events", event(), content_type="application/json",
                           HTTP_AUTHORIZATION="Bearer nope.nope")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert Event.objects.count() == 0


def test_non_json_content_type_is_415(api, workspace):
    response = api.generic("POST", "/api/v1/events", b"type=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_throttled_requests_get_429_with_retry_after(post, workspace, settings, redis_db):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "2/min"}}
    assert post(event()).status_code == 202
    assert post(event()).status_code == 202
    response = post(event())
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert len(stored(workspace, "order.completed")) == 2


def test_trailing_slash_path_works_too(api, workspace):
    response = api.post("/api/v1/events/", event(), format="json")
    assert response.status_code == 202
