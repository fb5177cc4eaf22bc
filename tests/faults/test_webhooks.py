"""Webhook endpoints down, slow, hanging, failing and throttling, for each sender that calls one, on the real
runtime (the scheduler and RQ workers as processes: tests/workflows/test_chaos.py `chaos_stack`):

1. a webhook subscription (webhooks/: an event's delivery to the subscribed URL, by the `webhooks` queue),
2. a workflow `webhook` step and 3. a workflow `http_request` step (called inline by the runtime's batches).

Each sends ITEMS items to a real local HTTP endpoint (tests/faults/providers.py `PhasedEndpoint`) that is down at
first (nothing listens: connection refused) until items were refused; then it answers from one script, in turn:
three slow answers, one that hangs until the client's timeout, three 500, three 429 with Retry-After, then 200.
Retries and timeouts are short through settings (WEBHOOKS_RETRY_DELAYS_SECONDS, WEBHOOKS_TIMEOUT_SECONDS,
WEBHOOKS_NO_ANSWER_PAUSE_SECONDS, WORKFLOW_STEP_RETRY_SCALE, WORKFLOW_NO_ANSWER_PAUSE_SECONDS, the steps'
timeout_s), not waits.

At the end, counted on the endpoint by idempotency key (webhook-id, Idempotency-Key): every item answered 200
exactly once (lost 0, duplicated 0); no retry came before its backoff's least wait (0.8 x its base, counted from
the failed answer, or from the client giving up on a hanging one) nor before a Retry-After; no item was tried more
than its retry budget allows.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.utils import timezone

from contacts.models import Contact
from events.services import NewEvent, events_store
from penguinflow.workspaces.services import signing_secret_rotate
from tests.engine.graphs import chain, node
from tests.faults.providers import PhasedEndpoint, wait_while_progressing
from tests.workflows.builders import publish
from tests.workflows.test_chaos import chaos_stack, free_port
from webhooks.models import WebhookDelivery
from webhooks.services import subscription_create
from workflows.engine.registry import registry
from workflows.enrollment_starts import Entry, enrollments_start
from workflows.live_versions import published_version_of
from workflows.models import Enrollment, StepRun

ITEMS = 20
SLOW_S = 0.5  # a slow answer: well past a healthy one, well inside the clients' timeouts
RETRY_AFTER = 4  # s: longer than the subscription's delays and the steps' backoff at their second try (<= 3.6 s)
SCRIPT = ["slow"] * 3 + ["hang"] + ["500"] * 3 + [(429, RETRY_AFTER)] * 3
SUBSCRIPTION_DELAY = 1.0  # each of the subscription's retry delays (WEBHOOKS_RETRY_DELAYS_SECONDS)
SUBSCRIPTION_DELAYS = [SUBSCRIPTION_DELAY] * 7  # 8 attempts, as the documented schedule
SUBSCRIPTION_TIMEOUT_S = 2  # WEBHOOKS_TIMEOUT_SECONDS: how long the hanging answer holds a sender
STEP_RETRY_SCALE = 0.05  # WORKFLOW_STEP_RETRY_SCALE: the steps' 30 s doubling becomes 1.5 s doubling
STEP_TIMEOUT_S = 2  # the steps' timeout_s: how long the hanging answer holds a batch
STEP_POLICY = registry.get("webhook").retry  # http_request's too
SLACK = 0.01  # the endpoint's and the runtime's clocks read a few instructions apart


def _env(**extra: str) -> dict[str, str]:
    return {"OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32", "ENGINE_LEASE_SECONDS": "30", **extra}


def early_retries(endpoint: PhasedEndpoint, least: Callable[[str, int], float]) -> list[str]:
    """Every request that follows a failed one (500, 429, a hang) for the same key arrives at least `least(key, n)`
    s after it (n: the failed one's place among the key's requests to the endpoint), or its Retry-After; return
    the ones that did not."""
    early = []
    for key, answers in endpoint.answers.items():
        for place, (before, after) in enumerate(itertools.pairwise(answers)):
            wait = max(least(key, place), before.retry_after or 0)
            if before.answer not in ("ok", "slow") and after.arrived - before.at < wait - SLACK:
                early.append(f"{key}: {before.answer} then {after.arrived - before.at:.2f} s later (at least {wait})")
    return early


def figures(name: str, endpoint: PhasedEndpoint, *, tries: int, expected: set[str]) -> str:
    """One line: items sent, tries (refused while down, then answered by the endpoint), retries, lost, duplicated."""
    answered = endpoint.counts()
    lost = sum(1 for key in expected if not endpoint.delivered.get(key))
    duplicated = sum(count - 1 for count in endpoint.delivered.values() if count > 1)
    return (f"{name}: sent {len(expected)}, tries {tries} (refused while down {tries - sum(answered.values())}, "
            f"answered {dict(answered)}), retries {tries - len(expected)}, lost {lost}, duplicated {duplicated}")


def _contacts(workspace, prefix: str) -> list[Contact]:
    return Contact.objects.bulk_create([
        Contact(workspace=workspace, email=f"{prefix}{n}@example.com", first_name=f"W{n}", timezone="UTC")
        for n in range(ITEMS)
    ])


# --- 1. a webhook subscription ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_subscriptions_endpoint_down_slow_hanging_failing_and_throttling_gets_every_event_once(
    workspace, tmp_path, settings
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    endpoint = PhasedEndpoint(free_port(), SCRIPT, key_header="webhook-id", slow_s=SLOW_S)
    subscription_create(workspace=workspace, url=endpoint.url + "/hook", events=["email.opened"])
    contacts = _contacts(workspace, "sub")
    env = _env(WEBHOOKS_RETRY_DELAYS_SECONDS=",".join(str(delay) for delay in SUBSCRIPTION_DELAYS),
               WEBHOOKS_TIMEOUT_SECONDS=str(SUBSCRIPTION_TIMEOUT_S), WEBHOOKS_NO_ANSWER_PAUSE_SECONDS="1")
    with chaos_stack(workspace, tmp_path, extra=env) as stack:
        sender = stack.fleet._spawn("rqworker", "webhooks", "--worker-class", "penguinflow.common.workers.Worker")
        try:
            started = time.monotonic()
            events_store(workspace=workspace, events=[NewEvent(type="email.opened", contact_id=contact.pk)
                                                      for contact in contacts])
            deliveries = WebhookDelivery.objects.filter(subscription__workspace=workspace)
            _deliver_through_the_faults(deliveries, endpoint)
        finally:
            sender.kill()
            sender.wait()
            endpoint.down()

    assert Counter(deliveries.values_list("status", flat=True)) == {"succeeded": ITEMS}
    expected = set(deliveries.values_list("msg_id", flat=True))
    assert len(expected) == ITEMS
    assert endpoint.delivered == {key: 1 for key in expected}, endpoint.delivered  # lost 0, duplicated 0
    assert max(deliveries.values_list("attempts", flat=True)) <= len(SUBSCRIPTION_DELAYS) + 1
    assert early_retries(endpoint, lambda key, place: 0.8 * SUBSCRIPTION_DELAY) == []
    tries = sum(deliveries.values_list("attempts", flat=True))
    assert tries > sum(endpoint.counts().values())  # some were refused while it was down
    print(f"\nwebhooks ({time.monotonic() - started:.0f} s): "
          + figures("subscription", endpoint, tries=tries, expected=expected))


def _deliver_through_the_faults(deliveries, endpoint: PhasedEndpoint) -> None:
    """Keep the endpoint down until two attempts were refused (a refused connection pauses the subscription:
    one attempt per pause), then up, until no delivery is pending."""

    def done() -> bool:
        if endpoint.server is None and sum(deliveries.values_list("attempts", flat=True)) >= 2:
            endpoint.up()
        return (endpoint.server is not None and deliveries.count() == ITEMS
                and not deliveries.filter(status="pending").exists())

    def progress() -> int | None:
        if deliveries.filter(status="pending", next_attempt_at__gt=timezone.now()).exists():
            return None  # a retry or a pause is waited out
        return sum(deliveries.values_list("attempts", flat=True)) + deliveries.exclude(status="pending").count()

    def state() -> str:
        return f"{dict(Counter(deliveries.values_list('status', 'attempts')))}; up: {endpoint.server is not None}"

    wait_while_progressing(done, progress, what="every delivery settled", state=state)


# --- 2. and 3. a workflow's webhook and http_request steps --------------------------------------------------------


def _step_workflow(workspace, kind: str, url: str):
    config = {"url": url, "method": "POST", "body": {"email": "{{ contact.email }}"}, "timeout_s": STEP_TIMEOUT_S}
    if kind == "http_request":
        config["map"] = {"received": "$.received"}
    nodes = [node("t", "trigger_manual"), node("w", kind, config), node("a", "add_tag", {"tag": "called"})]
    return publish(workspace, nodes, chain("t", "w", "a"), name=f"Faults {kind}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("kind", "key_header", "key_detail"), [("webhook", "webhook-id", "webhook_id"),
                                                                ("http_request", "Idempotency-Key", "idempotency_key")])
def test_a_steps_endpoint_down_slow_hanging_failing_and_throttling_is_called_once_per_enrollment(
    workspace, tmp_path, settings, kind, key_header, key_detail
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    signing_secret_rotate(workspace=workspace)  # the webhook step signs
    endpoint = PhasedEndpoint(free_port(), SCRIPT, key_header=key_header, slow_s=SLOW_S)
    workflow = _step_workflow(workspace, kind, endpoint.url + "/call")
    contacts = _contacts(workspace, kind)
    # A batch holds back its other steps to an endpoint that gave no answer: for 2 s here, not the default 30.
    env = _env(WORKFLOW_STEP_RETRY_SCALE=str(STEP_RETRY_SCALE), WORKFLOW_NO_ANSWER_PAUSE_SECONDS="2")
    with chaos_stack(workspace, tmp_path, extra=env):
        try:
            started = time.monotonic()
            report = enrollments_start(version=published_version_of(workflow),
                                       entries=[Entry(contact.pk, "t") for contact in contacts])
            ids = report.started
            _run_through_the_faults(ids, endpoint)
        finally:
            endpoint.down()

    assert Counter(Enrollment.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"completed": ITEMS}
    steps = StepRun.objects.filter(enrollment_id__in=ids, node_id="w")
    # A step the batch held back (its endpoint silent earlier in the batch, or the batch's time for calls spent)
    # made no call and spent no attempt: its step run is not a try.
    deferred = {pk for pk, detail in steps.values_list("pk", "detail") if detail.get("call_deferred")}
    calls = steps.exclude(pk__in=deferred)
    succeeded = calls.filter(status="succeeded")
    assert succeeded.count() == ITEMS
    expected = {detail[key_detail] for detail in succeeded.values_list("detail", flat=True)}
    assert len(expected) == ITEMS
    assert endpoint.delivered == {key: 1 for key in expected}, endpoint.delivered  # lost 0, duplicated 0
    per_enrollment = Counter(calls.values_list("enrollment_id", flat=True))
    assert max(per_enrollment.values()) <= STEP_POLICY.max_attempts
    enrollment_of = dict(succeeded.values_list(f"detail__{key_detail}", "enrollment_id"))
    refused = {key: per_enrollment[enrollment_of[key]] - len(endpoint.answers[key]) for key in expected}
    assert early_retries(endpoint, lambda key, place: _least_step_backoff(refused[key] + place)) == []
    tries = calls.count()
    assert tries > sum(endpoint.counts().values())  # some were refused while it was down
    if kind == "http_request":
        assert {detail["vars"]["received"] for detail in succeeded.values_list("detail", flat=True)} == expected
    print(f"\nwebhooks ({time.monotonic() - started:.0f} s): "
          + figures(f"{kind} step", endpoint, tries=tries, expected=expected) + f", held back {len(deferred)}")


def _least_step_backoff(attempt: int) -> float:
    """The least wait after the failure of try `attempt` (0: the first) of a step: the policy's backoff, scaled,
    less its jitter (workflows.engine.runner.retry_delay)."""
    return 0.8 * min(STEP_POLICY.base_seconds * 2**attempt, STEP_POLICY.cap_seconds) * STEP_RETRY_SCALE


def _run_through_the_faults(ids: list, endpoint: PhasedEndpoint) -> None:
    """Keep the endpoint down until every enrollment's call was refused once, then up, until every enrollment
    completed."""
    enrollments = Enrollment.objects.filter(pk__in=ids)
    calls = StepRun.objects.filter(enrollment_id__in=ids, node_id="w")

    def done() -> bool:
        if endpoint.server is None and calls.values("enrollment_id").distinct().count() == ITEMS:
            endpoint.up()
        return endpoint.server is not None and enrollments.filter(status="completed").count() == ITEMS

    def progress() -> int | None:
        if enrollments.filter(status="waiting", next_run_at__gt=timezone.now()).exists():
            return None  # a retry is waited out
        return calls.count() + enrollments.filter(status="completed").count()

    def state() -> str:
        return f"{dict(Counter(enrollments.values_list('status', flat=True)))}, {calls.count()} calls; " \
               f"up: {endpoint.server is not None}"

    wait_while_progressing(done, progress, what="every enrollment completed", state=state)

