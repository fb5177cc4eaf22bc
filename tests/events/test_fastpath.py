"""The ASGI fast path of POST /api/v1/events (events.fastpath) answers exactly like the Django view.

Each test drives the fast path itself through httpx's ASGI transport (its own event loop, its own async pool, so
the data is committed: transactional tests) and, for parity, the Django view through the test client with the
same request.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from django.test import Client

from contacts.models import Contact
from events.fastpath import EventsFastPath
from events.models import Event, EventKey
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Django:
    """Stands in for the Django application behind the fast path: records what it was handed."""

    def __init__(self):
        self.paths: list[tuple[str, str]] = []

    async def __call__(self, scope, receive, send):
        self.paths.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"django"})


class FastPath:
    def __init__(self):
        self.django = Django()
        self.app = EventsFastPath(self.django, pool_min_size=1, pool_max_size=2)
        self.runner = asyncio.Runner()

    def request(self, method: str, path: str = "/api/v1/events", content=None, headers=None,
                host: str = "testserver") -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
                return await client.request(method, path, content=content, headers=headers or {})

        return self.runner.run(go())

    def concurrently(self, bodies: list[bytes], headers: dict) -> list[httpx.Response]:
        """Send the bodies at once, so that the fast path's writer, lookup and counter tasks coalesce them."""

        async def go():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await asyncio.gather(*(client.post("/api/v1/events", content=body, headers=headers)
                                              for body in bodies))

        return self.runner.run(go())

    def close(self):
        self.runner.run(self.app.aclose())
        self.runner.close()


@pytest.fixture
def fast():
    path = FastPath()
    yield path
    path.close()


@pytest.fixture
def key(workspace):
    from penguinflow.workspaces.services import api_key_create

    _, secret = api_key_create(workspace=workspace, name="fast")
    return secret


@pytest.fixture
def both(fast, key):
    """Send one request to the fast path and to the Django view; return both answers as (status, json, headers)."""

    def send(body, *, authorization: str | None = None, content_type: str = "application/json",
             fast_first: bool = False):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        auth = f"Bearer {key}" if authorization is None else authorization
        headers = {"content-type": content_type}
        # CONTENT_TYPE too: Django's test client drops `content_type` for an empty body, a real client does not.
        extra = {"content_type": content_type, "CONTENT_TYPE": content_type}
        if auth:
            headers["authorization"] = auth
            extra["HTTP_AUTHORIZATION"] = auth

        def via_fast():
            response = fast.request("POST", content=data, headers=headers)
            return response.status_code, _json(response.content), response.headers

        def via_django():
            response = Client().generic("POST", "/api/v1/events", data, **extra)
            return response.status_code, _json(response.content), response.headers

        if fast_first:
            answer = via_fast()
            return answer, via_django()
        view = via_django()
        return via_fast(), view

    return send


def _json(content: bytes):
    try:
        return json.loads(content)
    except ValueError:
        return content


def event(**overrides):
    body = {"type": "order.completed", "contact": {"email": "ada@example.com"}, "properties": {"total": 42}}
    body.update(overrides)
    return body


def assert_same(answers, status):
    (fast_status, fast_body, fast_headers), (view_status, view_body, view_headers) = answers
    assert fast_status == view_status == status, (fast_body, view_body)
    assert fast_body == view_body
    for name in ("content-type", "www-authenticate", "retry-after", "x-frame-options", "x-content-type-options",
                 "referrer-policy", "cross-origin-opener-policy"):
        assert fast_headers.get(name) == view_headers.get(name), name
    return fast_body


# --- success, partial batches, dedupe, contacts ---------------------------------------------------------------


def test_fast_path_stores_a_single_event_and_answers_like_the_view(both, fast, workspace):
    contact = ContactFactory(workspace=workspace, email="ada@example.com")
    body = assert_same(both(event(occurred_at="2026-11-22T10:00:00Z")), 202)
    assert body == {"accepted": 1, "duplicates": 0, "rejected": []}
    rows = list(Event.objects.for_workspace(workspace).filter(type="order.completed"))
    assert len(rows) == 2
    assert {(r.contact_id, r.properties["total"], r.source, r.occurred_at.isoformat()) for r in rows} == {
        (contact.id, 42, "api", "2026-11-22T10:00:00+00:00")}
    assert fast.django.paths == []  # the fast path answered, Django was not involved


def test_fast_path_partial_batch_lists_the_same_rejections(both, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com")
    batch = {"events": [event(), {"type": "Bad Type", "contact": {"email": "ada@example.com"}},
                        event(contact={"id": "not-a-uuid"}), event(occurred_at="2026-11-22T10:00:00"),
                        event(properties=[1]), event(contact={"external_id": "nobody"}), event(extra=1)]}
    body = assert_same(both(batch), 202)
    assert body["accepted"] == 1
    assert [entry["index"] for entry in body["rejected"]] == [1, 2, 3, 4, 5, 6]
    assert Event.objects.for_workspace(workspace).filter(type="order.completed").count() == 2


def test_fast_path_dedupes_against_the_view_and_inside_the_batch(both, fast, key, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com")
    first = both({"events": [event(id="a"), event(id="a", properties={"total": 1}), event(id="b")]},
                 fast_first=True)
    (fast_status, fast_body, _), (view_status, view_body, _) = first
    assert fast_status == view_status == 202
    assert fast_body == {"accepted": 2, "duplicates": 1, "rejected": []}
    assert view_body == {"accepted": 0, "duplicates": 3, "rejected": []}
    again = assert_same(both(event(id="a", occurred_at="2019-01-01T00:00:00Z")), 202)
    assert again == {"accepted": 0, "duplicates": 1, "rejected": []}
    stored = Event.objects.for_workspace(workspace).filter(type="order.completed")
    assert sorted(stored.values_list("client_id", flat=True)) == ["a", "b"]
    assert stored.get(client_id="a").properties == {"total": 42}
    assert EventKey.objects.filter(workspace=workspace, key="api:a").count() == 1


def test_fast_path_unknown_email_creates_exactly_one_contact(fast, key, workspace):
    response = fast.request("POST", content=json.dumps({"events": [
        event(contact={"email": "New@Example.com"}), event(contact={"email": "new@example.COM"}),
        event(contact={"email": "not-an-address"})]}).encode(),
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": [
        {"index": 2, "errors": {"contact.email": "Not a valid email address."}}]}
    (contact,) = Contact.objects.for_workspace(workspace)
    assert contact.email == "new@example.com"
    types = list(Event.objects.filter(contact_id=contact.id).order_by("id").values_list("type", flat=True))
    assert types == ["contact.created", "order.completed", "order.completed"]
    again = fast.request("POST", content=json.dumps(event(contact={"email": "NEW@example.com"})).encode(),
                         headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    assert again.json()["accepted"] == 1
    assert Contact.objects.for_workspace(workspace).count() == 1
    assert Event.objects.filter(contact_id=contact.id, type="contact.created").count() == 1


def test_fast_path_202_is_committed_and_the_key_is_cached(fast, key, workspace):
    from penguinflow.common.auth import key_cache

    ContactFactory(workspace=workspace, email="ada@example.com")
    key_cache.clear()
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    for _ in range(3):
        assert fast.request("POST", content=json.dumps(event()).encode(), headers=headers).status_code == 202
    assert Event.objects.for_workspace(workspace).filter(type="order.completed").count() == 3
    assert len(key_cache._entries) == 1


def test_concurrent_small_requests_are_written_together_with_exact_per_request_counts(fast, key, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com")
    ContactFactory(workspace=workspace, email="bob@example.com")
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    bodies = [json.dumps(event(id=f"e{n % 10}", contact={"email": "ada@example.com" if n % 2 else "bob@example.com"},
                               properties={"n": n})).encode() for n in range(30)]
    bodies.append(json.dumps({"events": [event(), event(id="e3"), event(contact={"email": "nobody@x"})]}).encode())
    answers = [response.json() for response in fast.concurrently(bodies, headers)]
    singles, batch = answers[:-1], answers[-1]
    assert sum(answer["accepted"] for answer in singles) == 10 - (batch["accepted"] == 2)
    assert all(answer["accepted"] + answer["duplicates"] == 1 for answer in singles)
    assert batch["accepted"] + batch["duplicates"] == 2
    assert batch["rejected"] == [{"index": 2, "errors": {"contact.email": "Not a valid email address."}}]
    stored = Event.objects.for_workspace(workspace).filter(type="order.completed")
    assert stored.count() == 11  # ten ids once each, and the batch's event without an id
    assert sorted(stored.exclude(client_id=None).values_list("client_id", flat=True)) == [f"e{n}" for n in range(10)]
    for row in stored.exclude(client_id=None):  # whichever request came first, its own event was stored
        assert row.properties.get("n", 3) % 10 == int(row.client_id[1:])


def test_concurrent_requests_are_throttled_exactly_at_the_limit(fast, key, workspace, settings, redis_db):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "5/min"}}
    ContactFactory(workspace=workspace, email="ada@example.com")
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    responses = fast.concurrently([json.dumps(event()).encode() for _ in range(8)], headers)
    assert sorted(response.status_code for response in responses) == [202] * 5 + [429] * 3
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in responses if r.status_code == 429)
    assert Event.objects.for_workspace(workspace).filter(type="order.completed").count() == 5


# --- errors --------------------------------------------------------------------------------------------------


# One test per table (not parametrized): every transactional test pays for a database flush.
UNAUTHENTICATED = [("", "not_authenticated"), ("Basic abc", "authentication_failed"),
                   ("Bearer", "authentication_failed"), ("Bearer a b", "authentication_failed"),
                   ("Bearer nope.nope", "authentication_failed")]


def test_fast_path_401_like_the_view(both, workspace):
    for authorization, code in UNAUTHENTICATED:
        body = assert_same(both(event(), authorization=authorization), 401)
        assert body["error"]["code"] == code, authorization
    assert Event.objects.count() == 0


def test_fast_path_413_on_content_length_before_reading(both, fast, key, workspace):
    data = json.dumps({"events": [event(properties={"pad": "x" * 30_000}) for _ in range(180)]}).encode()
    assert len(data) > 5 * 1024 * 1024
    body = assert_same(both(data), 413)
    assert body["error"]["code"] == "payload_too_large"
    assert body["error"]["details"] == {"limit_bytes": 5 * 1024 * 1024}
    assert Event.objects.count() == 0


def test_fast_path_413_for_a_chunked_body_without_content_length(fast, key, workspace):
    async def chunks():
        for _ in range(6):
            yield b" " * (1024 * 1024)

    response = fast.request("POST", content=chunks(),
                            headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "content-length" not in response.request.headers


MALFORMED = [
        (b"[1, 2]", "validation_error"),
        (b"42", "validation_error"),
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (b'{"type": "order.completed", "contact": {"email": "caf\xe9@x.test"}}', "invalid_utf8"),
        (b'{"events": "nope"}', "validation_error"),
        (b'{"events": []}', "validation_error"),
        (b'{"events": [], "type": "x.y"}', "validation_error"),
        (b'{"events": [{"type": "bad"}, {"type": "x.y"}]}', "validation_error"),
        (b'{"type": "order.completed"}', "validation_error"),
]


def test_fast_path_400_like_the_view(both, workspace):
    for body, code in MALFORMED:
        answer = assert_same(both(body), 400)
        assert answer["error"]["code"] == code, body
    assert Event.objects.count() == 0
    assert Contact.objects.count() == 0


def test_fast_path_415_like_the_view(both, workspace):
    body = assert_same(both(b"type=x", content_type="application/x-www-form-urlencoded"), 415)
    assert body["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("content_type", ["", "application/jsonl", "text/json"])
def test_fast_path_refuses_a_missing_or_lookalike_content_type_like_the_view(both, workspace, content_type):
    body = assert_same(both(event(), content_type=content_type), 415)
    assert body["error"]["code"] == "unsupported_media_type"
    assert Event.objects.count() == 0


def test_fast_path_429_with_retry_after_shares_the_views_counter(both, fast, key, workspace, settings, redis_db):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "2/min"}}
    ContactFactory(workspace=workspace, email="ada@example.com")
    assert_same(both(event()), 202)  # one request each: the window is full
    (fast_status, fast_body, fast_headers), (view_status, view_body, view_headers) = both(event())
    assert fast_status == view_status == 429
    assert fast_body["error"]["code"] == view_body["error"]["code"] == "throttled"
    assert 1 <= int(fast_headers["retry-after"]) <= 60
    assert 1 <= int(view_headers["retry-after"]) <= 60
    assert Event.objects.for_workspace(workspace).filter(type="order.completed").count() == 2


def test_fast_path_answers_500_in_the_contract_format_when_storage_fails(fast, key, workspace, monkeypatch,
                                                                         caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("the database is on fire")

    monkeypatch.setattr(fast.app, "_store", broken)
    response = fast.request("POST", content=json.dumps(event()).encode(),
                            headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "server_error", "details": {},
                                         "message": "Something went wrong on our side; it has been logged."}}
    assert "Traceback" not in response.text


# --- what the fast path leaves to Django ---------------------------------------------------------------------


def test_everything_but_post_events_goes_to_django(fast, key, workspace):
    headers = {"authorization": f"Bearer {key}"}
    assert fast.request("GET", headers=headers).status_code == 299
    assert fast.request("POST", "/api/v1/contacts", content=b"{}", headers=headers).status_code == 299
    assert fast.request("POST", "/api/v1/events/x", content=b"{}", headers=headers).status_code == 299
    assert fast.request("POST", content=b"{}", headers=headers, host="evil.example").status_code == 299
    assert fast.django.paths == [("GET", "/api/v1/events"), ("POST", "/api/v1/contacts"),
                                 ("POST", "/api/v1/events/x"), ("POST", "/api/v1/events")]


def test_trailing_slash_is_served_by_the_fast_path(fast, key, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com")
    response = fast.request("POST", "/api/v1/events/", content=json.dumps(event()).encode(),
                            headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    assert response.status_code == 202
    assert fast.django.paths == []


def test_plain_http_goes_to_django_when_ssl_redirect_is_on(fast, key, workspace, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert fast.request("POST", content=b"{}", headers={"authorization": f"Bearer {key}"}).status_code == 299
