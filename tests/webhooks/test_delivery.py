"""Delivery for real: events ingested through the API, processed by the runtime's gateway (which fans out),
claimed by the dispatcher, sent by the `webhooks` queue's worker to a real HTTP server on 127.0.0.1, signed per
Standard Webhooks (checked with the `standardwebhooks` package), retried with the same webhook-id, disabled on 410
or after a day of failures (the admins told), and a hanging endpoint costs only its own deliveries."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks import Webhook as Verifier

from tasks.models import Task
from tests.hostile_server import hostile_server
from tests.webhook_receiver import Answer, receiver_server
from tests.webhooks.conftest import (
    ingest,
    pump,
    settled,
    subscribe,
    subscription,
    wait_until,
    work_queue,
)
from webhooks.dispatch import deliveries_dispatch
from webhooks.models import WebhookDelivery
from webhooks.schedule import BODY_KEPT_BYTES, JITTER, MAX_ATTEMPTS, RETRY_DELAYS, attempt_timeout

pytestmark = pytest.mark.django_db(transaction=True)


def _opened(email: str = "ada@example.com", **properties) -> dict:
    return {"type": "email.opened", "contact": {"email": email}, "properties": properties}


def _verify(secret: str, request) -> dict:
    return Verifier(secret).verify(request.body, {name.lower(): value for name, value in request.headers.items()})


def test_matching_event_arrives_signed_in_the_envelope_with_the_contact(api, workspace, receiver):
    sub = subscribe(api, receiver.url + "/hook", ["email.*"])
    subscribe(api, receiver.url + "/other", ["contact.tagged"])  # wants something else
    ingest(api, _opened(url="https://example.com/pricing"))
    pump()
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 1, what="the delivery")

    assert [r.path for r in receiver.requests] == ["/hook"]
    request = receiver.requests[0]
    body = _verify(sub["secret"], request)
    assert body["type"] == "email.opened"
    assert body["workspace_id"] == str(workspace.pk)
    assert body["id"] == request.headers["webhook-id"]
    assert body["data"]["properties"] == {"url": "https://example.com/pricing"}
    assert body["data"]["contact"]["email"] == "ada@example.com"
    assert body["data"]["contact_id"] == body["data"]["contact"]["id"]
    assert request.headers["Content-Type"] == "application/json"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 200)
    assert delivery.latency_ms is not None and delivery.delivered_at is not None


def test_failed_attempt_is_retried_with_the_same_webhook_id_and_body(api, receiver):
    sub = subscribe(api, receiver.url, ["email.opened"])
    receiver.answer(Answer(status=503, body=b"busy"), Answer(status=200))
    ingest(api, _opened())
    pump()
    delivery = wait_until(lambda: WebhookDelivery.objects.filter(attempts=1, claimed_until=None).first(),
                          what="the first attempt")
    assert delivery.status == "pending" and delivery.response_status == 503 and delivery.response_body == "busy"
    # The schedule's first delay is 5 s (+-20 %): due 4-6 s after the attempt ended.
    assert timedelta(seconds=3.9) <= delivery.next_attempt_at - _ended(delivery) <= timedelta(seconds=6.1)
    assert deliveries_dispatch() == 0  # not due yet

    pump(now=timezone.now() + timedelta(seconds=7))
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), what="the retry")
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    _verify(sub["secret"], second)
    assert WebhookDelivery.objects.get().attempts == 2


def _ended(delivery: WebhookDelivery):
    """When the delivery's latest attempt ended: its retry waits from then."""
    return delivery.last_attempt_at + timedelta(milliseconds=delivery.latency_ms)


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_longer_than_the_schedule_delays_the_retry(api, receiver, status):
    subscribe(api, receiver.url, ["email.opened"])
    receiver.answer(Answer(status=status, headers={"Retry-After": "120"}, body=b"slow down"), Answer(status=200))
    ingest(api, _opened())
    pump()
    delivery = wait_until(lambda: WebhookDelivery.objects.filter(attempts=1, claimed_until=None).first(),
                          what="the first attempt")
    assert (delivery.status, delivery.response_status) == ("pending", status)
    assert delivery.next_attempt_at - _ended(delivery) == timedelta(seconds=120)  # not the schedule's 5 s
    assert deliveries_dispatch(now=delivery.next_attempt_at - timedelta(seconds=1)) == 0

    pump(now=delivery.next_attempt_at + timedelta(seconds=1))
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), what="the retry")
    assert len(receiver.requests) == 2


def test_a_delivery_failing_every_attempt_follows_the_schedule_then_fails_for_good(api, receiver):
    """8 attempts, each after its documented delay (+-20 %), all with one webhook-id; then `failed`, and replay
    is how it goes again."""
    sub = subscribe(api, receiver.url, ["email.opened"])
    receiver.answer(Answer(status=500, body=b"down"))
    ingest(api, _opened())
    pump()
    for attempt, delay in enumerate(RETRY_DELAYS, start=1):
        delivery = wait_until(lambda n=attempt: settled(sub["id"]) and WebhookDelivery.objects.filter(
            attempts=n, claimed_until=None).first(), what=f"attempt {attempt}")
        assert delivery.status == "pending"
        waited = delivery.next_attempt_at - _ended(delivery)
        assert delay * (1 - JITTER) - timedelta(milliseconds=5) <= waited <= delay * (1 + JITTER)
        assert deliveries_dispatch(now=delivery.next_attempt_at - timedelta(seconds=1)) == 0  # not due before
        pump(now=delivery.next_attempt_at + timedelta(seconds=1))
    wait_until(lambda: WebhookDelivery.objects.filter(status="failed").exists(), what="the delivery given up")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.response_status, delivery.response_body) == (MAX_ATTEMPTS, 500, "down")
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 1
    assert len(receiver.requests) == MAX_ATTEMPTS
    logged = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries").json()["results"][0]
    assert (logged["status"], logged["next_attempt_at"]) == ("failed", None)
    # Minutes of real time, not a day: the subscription stays active.
    assert subscription(sub["id"]).status == "active"


def test_410_disables_the_subscription_and_cancels_what_waits(api, receiver):
    sub = subscribe(api, receiver.url, ["email.opened"])
    receiver.answer(Answer(status=410, body=b"gone"))
    ingest(api, _opened())
    pump()
    wait_until(lambda: subscription(sub["id"]).status == "disabled", what="the subscription disabled")
    assert subscription(sub["id"]).disabled_reason == "The endpoint answered 410 Gone."
    assert WebhookDelivery.objects.get().status == "failed"
    ingest(api, _opened("bob@example.com"))
    pump()
    assert WebhookDelivery.objects.count() == 1  # a disabled subscription gets nothing new
    assert len(receiver.requests) == 1
    assert not Task.objects.exists()  # 410 is how an endpoint unsubscribes: nobody is bothered


def test_a_day_of_failures_disables_and_tells_the_admins(api, workspace, receiver, admin_user):
    sub = subscribe(api, receiver.url, ["email.opened"])
    receiver.answer(Answer(status=500))
    ingest(api, _opened())
    pump()
    wait_until(lambda: subscription(sub["id"]).failing_since is not None, what="the failure recorded")
    assert subscription(sub["id"]).status == "active"
    # A day later (the clock moved by rewriting when failing started), the next failure disables it.
    subscription(sub["id"]).__class__.objects.filter(pk=sub["id"]).update(
        failing_since=timezone.now() - timedelta(hours=25))
    ingest(api, _opened("bob@example.com"))
    pump()
    wait_until(lambda: subscription(sub["id"]).status == "disabled", what="the subscription disabled")
    assert "failed for 24 hours" in subscription(sub["id"]).disabled_reason
    task = Task.objects.get()
    assert task.assignee == admin_user and sub["id"] in task.description
    assert [m.to for m in mail.outbox] == [["boss@acme.test"]]
    # The first delivery, waiting for its retry, was cancelled with the subscription.
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"cancelled"}


def test_a_subscription_failing_for_a_day_with_nothing_left_to_try_is_disabled_by_the_hourly_sweep(
        api, workspace, receiver, admin_user):
    """Its last retry came before the day was over (the jitter can bring the 8th attempt at 22 h) and no new
    event came: no attempt's outcome will disable it, so the scheduler's hourly sweep does."""
    from webhooks.services import subscriptions_disable_failing

    failing = subscribe(api, receiver.url + "/failing", ["email.opened"])
    recent = subscribe(api, receiver.url + "/recent", ["email.opened"])
    healthy = subscribe(api, receiver.url + "/healthy", ["email.opened"])
    model = subscription(failing["id"]).__class__
    model.objects.filter(pk=failing["id"]).update(failing_since=timezone.now() - timedelta(hours=25))
    model.objects.filter(pk=recent["id"]).update(failing_since=timezone.now() - timedelta(hours=2))

    assert subscriptions_disable_failing() == 1
    assert subscriptions_disable_failing() == 0  # once
    assert [subscription(s["id"]).status for s in (failing, recent, healthy)] == ["disabled", "active", "active"]
    assert "failed for 24 hours" in subscription(failing["id"]).disabled_reason
    task = Task.objects.get()
    assert task.assignee == admin_user and failing["id"] in task.description
    assert [m.to for m in mail.outbox] == [["boss@acme.test"]]


def test_success_clears_the_failure_record(api, receiver):
    sub = subscribe(api, receiver.url, ["email.opened"])
    receiver.answer(Answer(status=500), Answer(status=200))
    ingest(api, _opened())
    pump()
    wait_until(lambda: subscription(sub["id"]).failing_since is not None, what="the failure")
    pump(now=timezone.now() + timedelta(seconds=7))
    wait_until(lambda: subscription(sub["id"]).failing_since is None, what="the failure forgotten")


def test_hanging_endpoint_does_not_hold_the_others(api, receiver, second_receiver):
    release = threading.Event()
    second_receiver.answer(Answer(hold=release))
    try:
        hanging = subscribe(api, second_receiver.url + "/slow", ["email.opened"])
        fast = subscribe(api, receiver.url + "/fast", ["email.opened"])
        ingest(api, *[_opened(f"c{n}@example.com") for n in range(5)])
        started = time.monotonic()
        pump()
        # Everything for the fast endpoint is recorded while the hanging one still holds its first request.
        wait_until(lambda: WebhookDelivery.objects.filter(subscription_id=fast["id"], status="succeeded").count() == 5,
                   timeout=30, what="the fast endpoint's deliveries")
        assert not release.is_set() and time.monotonic() - started < 10
        assert len(receiver.requests) == 5
        # The hanging one got one request (the rest of its chunk was released after the timeout, not sent).
        wait_until(lambda: settled(hanging["id"]), timeout=60, what="the hanging attempt to time out")
        slow = WebhookDelivery.objects.filter(subscription_id=hanging["id"])
        assert len(second_receiver.requests) == 1
        assert slow.filter(attempts=1).count() == 1 and slow.filter(attempts=0).count() == 4
        assert "did not answer within the timeout" in slow.get(attempts=1).error
        sub = subscription(hanging["id"])
        assert sub.blocked_until is not None and sub.blocked_until > timezone.now()
        # Blocked: its deliveries wait for the block's end instead of being claimed again now.
        assert deliveries_dispatch() == 0
    finally:
        release.set()


def test_huge_answer_is_capped_and_a_redirect_is_a_failure(api, receiver, second_receiver):
    receiver.answer(Answer(body=b"x" * 5_000_000))
    second_receiver.answer(Answer(status=302, headers={"Location": "http://169.254.169.254/latest"}, body=b""))
    big = subscribe(api, receiver.url, ["email.opened"])
    moved = subscribe(api, second_receiver.url, ["email.opened"])
    ingest(api, _opened())
    pump()
    wait_until(lambda: settled(big["id"]) and settled(moved["id"]), what="both attempts")
    assert WebhookDelivery.objects.get(subscription_id=big["id"]).status == "succeeded"
    assert len(WebhookDelivery.objects.get(subscription_id=big["id"]).response_body) == 4096
    redirected = WebhookDelivery.objects.get(subscription_id=moved["id"])
    assert (redirected.status, redirected.response_status) == ("pending", 302)
    assert "Redirects are not followed" in redirected.error
    assert len(second_receiver.requests) == 1  # nothing went to the Location


def test_hostile_endpoints_cost_only_their_own_deliveries(api, receiver, second_receiver):
    """A huge body, a never-ending stream, headers trickled a byte at a time, a redirect to the metadata address:
    an honest endpoint subscribed beside them gets every delivery at once, and each hostile one ends within the
    attempt's deadline (no sender thread is held past it)."""
    second_receiver.answer(Answer(status=302, headers={"Location": "http://169.254.169.254/latest"}, body=b""))
    with (receiver_server() as huge, hostile_server("endless") as endless,
          hostile_server("trickle_body") as trickle_body, hostile_server("trickle_headers") as trickle_headers):
        huge.answer(Answer(body=b"x" * 20_000_000))
        hostile = {name: subscribe(api, url, ["email.opened"])["id"] for name, url in [
            ("huge", huge.url), ("endless", endless.url), ("trickle_body", trickle_body.url),
            ("trickle_headers", trickle_headers.url), ("redirect", second_receiver.url)]}
        honest = subscribe(api, receiver.url + "/honest", ["email.opened"])
        ingest(api, *[_opened(f"c{n}@example.com") for n in range(5)])
        started = time.monotonic()
        pump()
        wait_until(lambda: WebhookDelivery.objects.filter(subscription_id=honest["id"], status="succeeded").count()
                   == 5, timeout=30, what="the honest endpoint's deliveries")
        assert time.monotonic() - started < attempt_timeout()  # not after the trickling ones gave up
        wait_until(lambda: all(settled(sub_id) for sub_id in hostile.values()), timeout=60,
                   what="every hostile attempt ended")
        took = time.monotonic() - started
    assert took < attempt_timeout() + 10
    first = {name: WebhookDelivery.objects.filter(subscription_id=sub_id, attempts=1).order_by("event_id").first()
             for name, sub_id in hostile.items()}
    for name in ("huge", "endless"):  # answered 200 at once: taken as a success, the body cut at the cap
        assert WebhookDelivery.objects.filter(subscription_id=hostile[name], status="succeeded").count() == 5
        assert len(first[name].response_body) == BODY_KEPT_BYTES
    for name in ("trickle_body", "trickle_headers"):
        assert first[name].status == "pending" and "did not answer within the timeout" in first[name].error
        assert first[name].latency_ms < (attempt_timeout() + 2) * 1000
    assert (first["redirect"].status, first["redirect"].response_status) == ("pending", 302)
    assert len(second_receiver.requests) == 5  # none went to the Location
    assert len(receiver.requests) == 5


def test_private_address_at_send_time_is_refused_and_retried_later(api, settings, receiver):
    sub = subscribe(api, receiver.url, ["email.opened"])
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # the exemption is gone: 127.0.0.1 is loopback again
    ingest(api, _opened())
    pump()
    wait_until(lambda: settled(sub["id"]) and WebhookDelivery.objects.filter(attempts=1).exists(), what="the attempt")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and "loopback" in delivery.error
    assert receiver.requests == []


def test_rotation_signs_with_both_secrets_during_the_overlap(api, receiver):
    sub = subscribe(api, receiver.url, ["email.opened"])
    rotated = api.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", {"overlap_hours": 1}, format="json").json()
    assert rotated["secret"] != sub["secret"] and rotated["previous_secret_expires_at"]
    ingest(api, _opened())
    pump()
    wait_until(lambda: receiver.requests, what="the delivery")
    request = receiver.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    _verify(sub["secret"], request)
    _verify(rotated["secret"], request)
    ended = api.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", {"overlap_hours": 0}, format="json").json()
    ingest(api, _opened("bob@example.com"))
    pump()
    wait_until(lambda: len(receiver.requests) == 2, what="the second delivery")
    assert len(receiver.requests[1].headers["webhook-signature"].split(" ")) == 1
    _verify(ended["secret"], receiver.requests[1])


def test_ordered_subscription_sends_a_contacts_events_one_at_a_time_in_order(api, receiver):
    sub = subscribe(api, receiver.url, ["email.*"], ordered=True)
    receiver.answer(Answer(status=500), Answer(status=200))
    ingest(api, *[{"type": t, "contact": {"email": "ada@example.com"}}
                  for t in ("email.sent", "email.delivered", "email.opened")],
           {"type": "email.sent", "contact": {"email": "bob@example.com"}})
    pump()
    wait_until(lambda: settled(sub["id"]) and len(receiver.requests) == 2, what="the first attempts")
    # Ada's first failed, so her later ones wait; Bob's went.
    first_two = [(json.loads(r.body)["data"]["contact"]["email"], json.loads(r.body)["type"])
                 for r in receiver.requests]
    assert sorted(first_two) == [("ada@example.com", "email.sent"), ("bob@example.com", "email.sent")]
    for _ in range(3):
        pump(now=timezone.now() + timedelta(seconds=7))
        wait_until(lambda: settled(sub["id"]), what="the round")
    ada = [json.loads(r.body)["type"] for r in receiver.requests
           if json.loads(r.body)["data"]["contact"]["email"] == "ada@example.com"]
    assert ada == ["email.sent", "email.sent", "email.delivered", "email.opened"]


def test_events_the_project_emits_reach_subscribers(api, receiver):
    sub = subscribe(api, receiver.url, ["contact.*"])
    response = api.post("/api/v1/contacts", {"email": "new@example.com"}, format="json")
    assert response.status_code == 201, response.content
    contact_id = response.json()["id"]
    tagged = api.post(f"/api/v1/contacts/{contact_id}/tags", {"add": ["vip"]}, format="json")
    assert tagged.status_code in (200, 204), tagged.content
    pump()
    wait_until(lambda: settled(sub["id"]) and len(receiver.requests) >= 2, what="the contact events")
    types = sorted(json.loads(r.body)["type"] for r in receiver.requests)
    assert types == ["contact.created", "contact.tagged"]


def test_channel_events_and_wildcards_reach_the_subscribers_that_want_them(api, workspace, receiver):
    from events.services import event_emit
    from tests.factories import ContactFactory

    subs = [subscribe(api, receiver.url + path, events)["id"]
            for path, events in [("/all", ["*"]), ("/sms", ["sms.*"]), ("/push", ["push.clicked"])]]
    contact = ContactFactory(workspace=workspace)
    for type_ in ("sms.delivered", "push.clicked", "push.sent", "smsx.sent"):
        event_emit(workspace=workspace, type=type_, contact_id=contact.pk)
    pump()
    wait_until(lambda: all(settled(sub) for sub in subs) and len(receiver.requests) == 6, what="the deliveries")
    got = sorted((r.path, json.loads(r.body)["type"]) for r in receiver.requests)
    assert got == [("/all", "push.clicked"), ("/all", "push.sent"), ("/all", "sms.delivered"), ("/all", "smsx.sent"),
                   ("/push", "push.clicked"), ("/sms", "sms.delivered")]


def test_a_job_run_twice_sends_nothing_twice(api, receiver):
    subscribe(api, receiver.url, ["email.opened"])
    ingest(api, _opened())
    from events.processing import events_process_pending

    events_process_pending()
    claimed = []
    deliveries_dispatch(enqueue=lambda ids, until: claimed.append((ids, until)))
    from webhooks.jobs import deliver_batch

    ids, until = claimed[0]
    deliver_batch([str(i) for i in ids], until)
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), what="the delivery")
    assert deliver_batch([str(i) for i in ids], until) == 0
    work_queue()
    assert len(receiver.requests) == 1


def test_a_delivery_left_pending_on_a_disabled_subscription_is_cancelled_not_claimed_forever(api, receiver):
    sub = subscribe(api, receiver.url, ["email.opened"])
    ingest(api, _opened())
    from events.processing import events_process_pending
    from webhooks.models import WebhookSubscription

    events_process_pending()
    # The race: disabled after the fan-out read it as active, so one delivery is still pending.
    WebhookSubscription.objects.filter(pk=sub["id"]).update(status="disabled")
    pump()
    wait_until(lambda: WebhookDelivery.objects.filter(status="cancelled").exists(), what="the cancellation")
    assert receiver.requests == []


def test_a_lost_job_is_claimed_again_when_its_lease_expires(api, receiver):
    from events.processing import events_process_pending
    from webhooks.dispatch import LEASE

    subscribe(api, receiver.url, ["email.opened"])
    ingest(api, _opened())
    events_process_pending()
    lost = []
    assert deliveries_dispatch(enqueue=lambda ids, until: lost.append(ids)) == 1  # Redis lost this job
    assert deliveries_dispatch() == 0  # still under its lease
    pump(now=timezone.now() + LEASE + timedelta(seconds=1))
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), what="the delivery")
    assert len(receiver.requests) == 1


def test_workflow_events_reach_subscribers(api, workspace, receiver):
    from tests.engine.graphs import chain, node
    from tests.factories import ContactFactory
    from tests.workflows.builders import publish, run_due

    sub = subscribe(api, receiver.url, ["workflow.*"])
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "hooked"})],
                       chain("t", "a"))
    contact = ContactFactory(workspace=workspace)
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")
    assert response.status_code == 202, response.content
    run_due()
    pump()
    wait_until(lambda: settled(sub["id"]) and len(receiver.requests) == 2, what="the workflow events")
    bodies = sorted((json.loads(r.body) for r in receiver.requests), key=lambda body: body["data"]["id"])
    assert [body["type"] for body in bodies] == ["workflow.enrolled", "workflow.completed"]
    assert {body["data"]["properties"]["workflow_id"] for body in bodies} == {str(workflow.pk)}
    assert {body["data"]["contact"]["id"] for body in bodies} == {str(contact.pk)}


def test_a_forking_worker_waits_for_its_attempts_before_the_work_horse_exits(api, receiver):
    """RQ's default worker forks a work horse per job, which exits when the job returns: the job then waits for
    its sender threads, so the deliveries are made (with SimpleWorker it returns at once)."""
    import django_rq
    from rq import Worker

    from events.processing import events_process_pending
    from webhooks.dispatch import QUEUE

    subscribe(api, receiver.url, ["email.opened"])
    ingest(api, _opened())
    events_process_pending()
    assert deliveries_dispatch() == 1
    queue = django_rq.get_queue(QUEUE)
    Worker([queue], connection=queue.connection).work(burst=True)  # forks
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), timeout=30,
               what="the delivery made by the work horse")
    assert len(receiver.requests) == 1
