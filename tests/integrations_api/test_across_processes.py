"""The same guarantees with the server in another process (uvicorn, the production ASGI app, whose events fast
path answers `POST /api/v1/events` without Django): a change to a key holds on the very next request, concurrent
repeats of an Idempotency-Key run once, and the fast path keeps scopes, rates and last use too."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from contacts.models import Contact
from penguinflow.workspaces.models import WorkspaceAPIKey
from penguinflow.workspaces.services import api_key_change, api_key_create, api_key_revoke
from tests.factories import WorkspaceFactory
from tests.servers import asgi_server

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = json.dumps({"type": "order.completed", "contact": {"email": "ada@example.com"}})


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), asgi_server() as base_url:
        yield base_url


def _client(server: str, secret: str) -> httpx.Client:
    return httpx.Client(base_url=server, timeout=60,
                        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})


def _read_and_ingest(server: str, secret: str) -> tuple[int, int]:
    with _client(server, secret) as client:
        return client.get("/api/v1/contacts").status_code, client.post("/api/v1/events", content=EVENT).status_code


def test_a_revocation_holds_on_the_very_next_request_in_another_process(server):
    workspace = WorkspaceFactory(slug="revoked-next")
    api_key, secret = api_key_create(workspace=workspace, name="zap")
    assert _read_and_ingest(server, secret) == (200, 202)
    assert _read_and_ingest(server, secret) == (200, 202)  # cached by the server now
    api_key_revoke(api_key=api_key)
    assert _read_and_ingest(server, secret) == (401, 401)


def test_a_change_of_scopes_holds_on_the_very_next_request_in_another_process(server):
    workspace = WorkspaceFactory(slug="rescoped-next")
    api_key, secret = api_key_create(workspace=workspace, name="zap")
    assert _read_and_ingest(server, secret) == (200, 202)
    api_key_change(api_key=api_key, scopes=["events"])
    assert _read_and_ingest(server, secret) == (403, 202)
    api_key_change(api_key=api_key, scopes=["read"])
    with _client(server, secret) as client:
        refused = client.post("/api/v1/events", content=EVENT)  # the fast path's answer
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert refused.json()["error"]["details"]["required_scope"] == "events"


def test_the_fast_path_throttles_a_key_at_its_own_rate(server):
    workspace = WorkspaceFactory(slug="slow-key")
    _, secret = api_key_create(workspace=workspace, name="zap", rate_limit_per_minute=2)
    with _client(server, secret) as client:
        statuses = [client.post("/api/v1/events", content=EVENT) for _ in range(3)]
    assert [r.status_code for r in statuses] == [202, 202, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert statuses[2].json()["error"]["code"] == "throttled"


def test_the_fast_path_records_the_last_use(server):
    workspace = WorkspaceFactory(slug="used-key")
    api_key, secret = api_key_create(workspace=workspace, name="zap")
    with _client(server, secret) as client:
        assert client.post("/api/v1/events", content=EVENT).status_code == 202
    deadline = time.monotonic() + 60  # recorded off the answer's path: wait for it
    while WorkspaceAPIKey.objects.get(pk=api_key.pk).last_used_at is None:
        assert time.monotonic() < deadline, "the use was never recorded"
        time.sleep(0.05)


def test_concurrent_repeats_of_an_idempotency_key_run_once(server):
    workspace = WorkspaceFactory(slug="concurrent-keys")
    _, secret = api_key_create(workspace=workspace, name="zap")
    body = json.dumps({"email": "once@example.com"})

    def send(_):
        with _client(server, secret) as client:
            return client.post("/api/v1/contacts", content=body, headers={"Idempotency-Key": "same"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert Contact.objects.filter(workspace=workspace, email="once@example.com").count() == 1
    ran = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(ran) == 1
    for answer in answers:
        if answer is ran[0]:
            continue
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == "idempotency_key_in_use"
        else:
            assert (answer.status_code, answer.headers["idempotent-replayed"]) == (201, "true")
            assert answer.json() == ran[0].json()


def test_an_event_sent_with_an_idempotency_key_is_recorded_once(server):
    """The fast path keeps no answers: a request with the header goes to Django, which replays the first."""
    from events.models import Event

    workspace = WorkspaceFactory(slug="event-keys")
    _, secret = api_key_create(workspace=workspace, name="zap")
    with _client(server, secret) as client:
        first = client.post("/api/v1/events", content=EVENT, headers={"Idempotency-Key": "evt-1"})
        repeat = client.post("/api/v1/events", content=EVENT, headers={"Idempotency-Key": "evt-1"})
        other = client.post("/api/v1/events", content=EVENT.replace("completed", "refunded"),
                            headers={"Idempotency-Key": "evt-1"})
    assert (first.status_code, repeat.status_code, other.status_code) == (202, 202, 409)
    assert repeat.headers["idempotent-replayed"] == "true" and repeat.json() == first.json()
    assert Event.objects.filter(workspace=workspace, type="order.completed").count() == 1
