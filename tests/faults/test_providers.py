"""Providers down, slow, refusing for now and throttling, in one run of the real runtime (the scheduler and RQ
workers as processes: tests/workflows/test_chaos.py `chaos_stack`, plus a worker for the "sms" queue).

A workflow sends each contact an email (to a real aiosmtpd server), an SMS (to a Twilio-shaped local API) and a
web push (to the local push service, which checks VAPID and decrypts each message).
Both providers start down (nothing listens: connection refused) until every message has been tried once; then
each comes up and answers from a script, in turn: the SMTP server three slow answers (3 s), four 451 (try again
later), then 250, and it refuses one recipient for good (550); the SMS API three slow answers, two 500, two 503,
three 429 with Retry-After: 10, then 201; the push service three slow answers, three 500, three 429 with
Retry-After: 10, then 201.

At the end: every message arrived exactly once (counted on the servers, by recipient); the email refused with
550 failed after one try on a listening server, not retried; nothing was tried more than its budget allows;
no retry came before the backoff's least wait (0.8 x the base) or before a Retry-After. An SMS answered 500 is
`unknown` (the provider may have created it: never re-sent by itself, docs/channels.md); the test does what the
operator does, resending those the provider does not have, and counts them.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter

import pytest
from django.utils import timezone

from contacts.models import Contact
from push.models import PushMessage
from sms.models import SmsMessage
from templates.models import OutboxMessage
from tests.chaos import wait_for
from tests.engine.graphs import chain, node
from tests.factories import EmailTemplateFactory
from tests.faults.providers import PhasedPush, PhasedSmtp, PhasedTwilio, wait_while_progressing
from tests.push.conftest import subscribe
from tests.sms.conftest import opted_in
from tests.workflows.builders import publish
from tests.workflows.test_chaos import chaos_stack, free_port
from workflows.enrollment_starts import Entry, enrollments_start
from workflows.live_versions import published_version_of
from workflows.models import Enrollment, StepRun

CONTACTS = 20
REFUSED = "refused@example.com"  # the SMTP server's 550 for this one
RETRY_BASE = 2.0  # EMAIL_RETRY_BASE_SECONDS, SMS_RETRY_BASE_SECONDS: the schedule of hours, in seconds
EMAIL_MAX_ATTEMPTS, SMS_MAX_ATTEMPTS, PUSH_MAX_ATTEMPTS = 8, 6, 6
RETRY_AFTER = 10  # longer than the backoff (2 s doubling) at the attempts that meet the 429s: it decides
SETTLED = ("queued", "sending")


def _workflow(workspace):
    template = EmailTemplateFactory(
        workspace=workspace, subject="Hello", html="<p>Hi {{ contact.first_name }}</p>"
    )
    nodes = [node("t", "trigger_manual"), node("m", "send_email", {"template_id": str(template.pk)}),
             node("s", "send_sms", {"text": "Hello {{ contact.first_name }}"}),
             node("p", "send_push", {"title": "Hello {{ contact.first_name }}", "url": "https://x.test/"}),
             node("a", "add_tag", {"tag": "sent"})]  # fmt: skip
    return publish(workspace, nodes, chain("t", "m", "s", "p", "a"), name="Providers")


def _contacts(workspace) -> list[Contact]:
    emails = [f"p{n}@example.com" for n in range(CONTACTS - 1)] + [REFUSED]
    return [opted_in(Contact.objects.create(workspace=workspace, email=email, first_name=f"P{n}", timezone="UTC"),
                     phone=f"+3361200{n:04d}") for n, email in enumerate(emails)]  # fmt: skip


def _gaps_respected(recorded, least: float) -> list[str]:
    """Every request that follows a refusal for the same recipient comes at least `least` s later (or its
    Retry-After); return the ones that did not."""
    early = []
    for recipient, answers in recorded.answers.items():
        for before, after in itertools.pairwise(answers):
            wait = max(least, before.retry_after or 0)
            if before.answer not in ("ok", "slow") and after.at - before.at < wait - 0.01:
                early.append(
                    f"{recipient}: {before.answer} then {after.at - before.at:.2f} s later (at least {wait})"
                )
    return early


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_providers_down_slow_refusing_and_throttling_deliver_every_message_once(
    workspace, tmp_path, settings
):
    settings.OUTBOUND_ALLOWED_NETWORKS = [
        "127.0.0.1/32"
    ]  # the subscriptions' endpoints are the local service
    workspace.settings = {
        "quiet_hours": {"start": "00:00", "end": "00:00"}
    }  # none: the test runs at any hour
    workspace.save(update_fields=["settings"])
    smtp = PhasedSmtp(free_port(), ["slow"] * 3 + ["451 4.7.1 Try again later"] * 4, refused={REFUSED})
    sms = PhasedTwilio(free_port(), ["slow"] * 3 + ["500"] * 2 + ["503"] * 2 + [(429, RETRY_AFTER)] * 3)
    push = PhasedPush(free_port(), ["slow"] * 3 + ["500"] * 3 + [(429, RETRY_AFTER)] * 3)
    env = {"TEST_EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "SMS_URL": sms.url, "SMS_FROM": "+15005550006",
           "SMS_STATUS_CALLBACKS": "false", "EMAIL_RETRY_BASE_SECONDS": str(RETRY_BASE),
           "SMS_RETRY_BASE_SECONDS": str(RETRY_BASE), "EMAIL_MAX_ATTEMPTS": str(EMAIL_MAX_ATTEMPTS),
           "SMS_MAX_ATTEMPTS": str(SMS_MAX_ATTEMPTS), "SMS_SWEEP_GRACE_SECONDS": "5",
           "PUSH_RETRY_BASE_SECONDS": str(RETRY_BASE), "PUSH_MAX_ATTEMPTS": str(PUSH_MAX_ATTEMPTS),
           "PUSH_CA_CERTS": push.ca_file, "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
           "PUBLIC_BASE_URL": "https://pf.example.test"}  # fmt: skip
    workflow = _workflow(workspace)
    contacts = _contacts(workspace)
    browsers = {}
    for contact in contacts:
        subscription = push.browser()
        subscribe(workspace, contact, subscription)
        browsers[contact.pk] = subscription["endpoint"].rsplit("/", 1)[-1]
    with chaos_stack(workspace, tmp_path, extra=env) as stack:
        sms_worker = stack.fleet._spawn("rqworker", "sms", "push", "--worker-class", "rq.worker.SimpleWorker",
                                        "--with-scheduler")  # fmt: skip
        try:
            _run(workflow, contacts, browsers, (smtp, sms, push), stack)
        finally:
            sms_worker.kill()
            sms_worker.wait()
            smtp.down()
            sms.down()
            push.down()


def _run(workflow, contacts, browsers: dict, providers, stack) -> None:
    smtp, sms, push = providers
    started = time.monotonic()
    report = enrollments_start(version=published_version_of(workflow),
                               entries=[Entry(contact.pk, "t") for contact in contacts])  # fmt: skip
    ids = report.started
    emails = OutboxMessage.objects.filter(enrollment_id__in=ids)
    texts = SmsMessage.objects.filter(contact__in=contacts)
    pushes = PushMessage.objects.filter(contact__in=contacts)

    channels = {"email": (emails, smtp), "sms": (texts, sms), "push": (pushes, push)}
    refused_while_down: dict[str, int] = {}

    def bring_up_and_settle() -> bool:
        """Bring each provider up once every message of its channel was tried (and refused) while it was down;
        done when every provider is up and no message is queued or sending."""
        for name, (rows, provider) in channels.items():
            if (
                name not in refused_while_down
                and rows.count() == CONTACTS
                and not rows.filter(attempts=0).exists()
            ):
                refused_while_down[name] = sum(rows.values_list("attempts", flat=True))  # tries refused
                provider.up()
        return len(refused_while_down) == len(channels) and not any(
            rows.filter(status__in=SETTLED).exists() for rows, _ in channels.values()
        )

    def progress() -> int | None:
        """A number that grows with every attempt and every message settled; None while a retry is scheduled
        (its backoff, up to minutes, is a wait, not a stall)."""
        if any(
            rows.filter(status="queued", next_attempt_at__gt=timezone.now()).exists()
            for rows, _ in channels.values()
        ):
            return None
        return sum(sum(rows.values_list("attempts", flat=True)) + rows.exclude(status__in=SETTLED).count()
                   for rows, _ in channels.values())  # fmt: skip

    def state() -> str:
        return "; ".join(f"{name}: {dict(Counter(rows.values_list('status', 'attempts')))}"
                         for name, (rows, _) in channels.items()) + f"; up: {sorted(refused_while_down)}"  # fmt: skip

    wait_while_progressing(bring_up_and_settle, progress, what="every message settled", state=state)
    unknown = list(texts.filter(status="unknown"))  # the 500s: maybe created, never re-sent by themselves
    _resend_missing(unknown, sms)
    wait_while_progressing(bring_up_and_settle, progress, what="the resent SMS settled", state=state)
    wait_for(lambda: Enrollment.objects.filter(pk__in=ids, status="completed").count() == CONTACTS,
             what="every enrollment completed")  # fmt: skip

    good = [c for c in contacts if c.email != REFUSED]
    assert Counter(emails.values_list("status", flat=True)) == {"sent": CONTACTS - 1, "failed": 1}
    refused = emails.get(contact__email=REFUSED)
    assert (
        refused.error.startswith("SMTPRecipientsRefused") and "550" in refused.error
    )  # down: retried; 550: failed
    assert [a.answer for a in smtp.answers[REFUSED]] == ["550"]  # not tried again after the 550
    arrived = Counter(key.split(" ")[0] for key in smtp.delivered.elements())
    assert arrived == {contact.email: 1 for contact in good}, arrived
    assert sorted(smtp.delivered.values()) == [1] * len(good)  # each Message-ID once
    assert Counter(texts.values_list("status", flat=True)) == {"sent": CONTACTS}
    assert sms.delivered == {contact.phone: 1 for contact in contacts}, sms.delivered
    assert max(emails.values_list("attempts", flat=True)) <= EMAIL_MAX_ATTEMPTS
    assert max(texts.values_list("attempts", flat=True)) <= SMS_MAX_ATTEMPTS
    assert _gaps_respected(smtp, 0.8 * RETRY_BASE) == []
    assert _gaps_respected(sms, 0.8 * RETRY_BASE) == []
    assert Counter(pushes.values_list("status", flat=True)) == {"sent": CONTACTS}
    assert push.recorded.delivered == {browsers[contact.pk]: 1 for contact in contacts}
    assert Counter(message.browser for message in push.received) == push.recorded.delivered  # decrypted, once
    assert max(pushes.values_list("attempts", flat=True)) <= PUSH_MAX_ATTEMPTS
    assert _gaps_respected(push.recorded, 0.8 * RETRY_BASE) == []
    assert StepRun.objects.filter(enrollment_id__in=ids, status="succeeded").count() == 5 * CONTACTS

    # Tries counted where they happened: refused while down (the rows' attempts when the provider came up), then
    # every request the provider answered.
    figures = []
    for name, recorded in (("email", smtp), ("SMS", sms), ("push", push.recorded)):
        answers = recorded.counts()
        tries = refused_while_down[name.lower()] + sum(answers.values())
        figures.append(
            f"{name}: {tries} tries for {CONTACTS} messages ({tries - CONTACTS} retries; refused while down "
            f"{refused_while_down[name.lower()]}, then answered {dict(answers)}), delivered "
            f"{sum(recorded.delivered.values())}, duplicates {sum(n - 1 for n in recorded.delivered.values())}"
        )
    print(
        f"\nproviders ({time.monotonic() - started:.0f} s): "
        + "; ".join(figures)
        + f"; 1 email failed for good (550); {len(unknown)} SMS unknown after a 500, resent by the operator"
    )


def _resend_missing(unknown: list[SmsMessage], sms: PhasedTwilio) -> None:
    """The operator's part: an `unknown` SMS the provider does not have is resent (the scheduler's sweep enqueues
    it on the fleet's Redis)."""
    from sms.recovery import sms_resend

    for message in unknown:
        if not sms.delivered.get(message.to_phone):
            sms_resend(message=message)
