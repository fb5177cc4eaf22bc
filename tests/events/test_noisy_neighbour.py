"""A hostile workspace beside a normal one: the normal one's ingestion does not wait behind the hostile one's.

The hostile workspace sends, from several connections at once and without pause, batches of 1,000 events that
each name a new contact, into a workspace whose segments cost as much as a rule may: every such batch is a long
store (contacts created, every segment evaluated for each). The normal workspace meanwhile sends single events,
half of them naming a new contact, which takes the same slow path. Each request of the normal workspace is timed
alone and beside the hostile one; the figures are printed.

The assertion compares durations measured in the same moment, not against a clock: a normal request must not
have waited behind a hostile store, so its p99 beside the neighbour stays well under the hostile stores' median.
Before the fix, the fast path ran every store of the process on one thread, and a normal new-contact request
waited for the hostile stores queued ahead of it (several times a hostile store's duration).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid

import httpx
import pytest

from penguinflow.workspaces.services import api_key_create
from tests.factories import SegmentFactory, WorkspaceFactory
from tests.servers import asgi_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HOSTILE_CONNECTIONS = 4
NORMAL_REQUESTS = 40


def _post(client: httpx.Client, body: dict) -> float:
    started = time.perf_counter()
    answer = client.post("/api/v1/events", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text
    return time.perf_counter() - started


def _normal_latencies(client: httpx.Client, known_email: str) -> list[float]:
    latencies = []
    for index in range(NORMAL_REQUESTS):
        email = known_email if index % 2 else f"new-{uuid.uuid4().hex}@normal.test"
        latencies.append(_post(client, {"type": "page.viewed", "contact": {"email": email}}))
    return latencies


def _p(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _costly_rule() -> dict:
    """A rule near the cost a segment may have: many comparisons over the contact, none of them true."""
    return {"or": [{"==": [{"var": "contact.fields.plan"}, f"plan-{n}"]} for n in range(200)]}


def test_a_hostile_workspace_does_not_hold_up_a_normal_ones_ingestion(capsys):
    hostile, normal = WorkspaceFactory(slug="hostile"), WorkspaceFactory(slug="normal")
    for _ in range(5):
        SegmentFactory(workspace=hostile, rule=_costly_rule())
    _, hostile_key = api_key_create(workspace=hostile, name="hostile")
    _, normal_key = api_key_create(workspace=normal, name="normal")

    with asgi_server() as base_url:
        normal_client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {normal_key}"}, timeout=600)
        _post(normal_client, {"type": "page.viewed", "contact": {"email": "known@normal.test"}})
        alone = _normal_latencies(normal_client, "known@normal.test")

        stop, hostile_durations = threading.Event(), []

        def hostile_sender() -> None:
            with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {hostile_key}"},
                              timeout=600) as client:
                while not stop.is_set():
                    batch = [{"type": "page.viewed", "contact": {"email": f"{uuid.uuid4().hex}@hostile.test"}}
                             for _ in range(1000)]
                    hostile_durations.append(_post(client, {"events": batch}))

        senders = [threading.Thread(target=hostile_sender) for _ in range(HOSTILE_CONNECTIONS)]
        for sender in senders:
            sender.start()
        try:
            # Progress, not a clock: wait until the hostile stores are under way (the first ones have finished).
            while len(hostile_durations) < HOSTILE_CONNECTIONS:
                time.sleep(0.05)
            beside = _normal_latencies(normal_client, "known@normal.test")
        finally:
            stop.set()
            for sender in senders:
                sender.join()
            normal_client.close()

    hostile_median = statistics.median(hostile_durations)
    with capsys.disabled():
        print(f"\n[noisy neighbour] normal workspace, {NORMAL_REQUESTS} requests: alone p50 "
              f"{_p(alone, .5) * 1000:.0f} ms p99 {_p(alone, .99) * 1000:.0f} ms; beside the hostile one p50 "
              f"{_p(beside, .5) * 1000:.0f} ms p99 {_p(beside, .99) * 1000:.0f} ms; hostile 1,000-new-contact "
              f"batches: {len(hostile_durations)}, median {hostile_median * 1000:.0f} ms")
    assert _p(beside, 0.99) < hostile_median / 2, (
        f"normal requests waited behind hostile stores: p99 {_p(beside, .99):.3f} s, "
        f"hostile store median {hostile_median:.3f} s"
    )
