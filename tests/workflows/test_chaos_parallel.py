"""Chaos for parallel branches: workers killed with SIGKILL while enrollments run three branches at once and
merge them, with Redis restarted once per round (the fleet, Redis and SMTP of `test_chaos`).

Each enrollment forks into three branches: one sends an email and tags, one waits two seconds (a timer the
scheduler claims) then sends an email and sets a field, one tags and scores; the merge waits for all three, then
a last email goes out. At the end of each round: every enrollment completed; each branch step ran successfully
exactly once per enrollment (none lost, none twice); each enrollment's three branches arrived at the merge once
each and the merge went on once; each of the three emails per enrollment has one outbox row and arrived at most
once (exactly once after the operator resends those a kill left `unknown`).
"""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest

from contacts.models import Contact
from templates.models import OutboxMessage
from tests.engine.graphs import edge, node
from tests.factories import EmailTemplateFactory
from tests.workflows.builders import publish
from tests.workflows.test_chaos import KILLS, _Round, _wait, chaos_stack
from workflows.models import Enrollment, StepRun

ROUNDS = int(os.environ.get("CHAOS_PARALLEL_ROUNDS", "2"))
PER_ROUND = int(os.environ.get("CHAOS_PARALLEL_ENROLLMENTS", "400"))
BRANCH_STEPS = ["ma", "ta", "d", "mb", "fb", "tc", "sc"]


def _workflow(workspace):
    templates = [EmailTemplateFactory(workspace=workspace, subject=f"{name} {{{{ contact.first_name }}}}",
                                      html=f"<p>{name}</p>") for name in ("A", "B", "After")]  # fmt: skip
    a, b, after = (str(template.pk) for template in templates)
    nodes = [
        node("t", "trigger_manual"),
        node("p", "parallel", {"branches": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}),
        node("ma", "send_email", {"template_id": a}),
        node("ta", "add_tag", {"tag": "branch-a"}),
        node("d", "delay", {"duration": "PT2S"}),
        node("mb", "send_email", {"template_id": b}),
        node("fb", "update_field", {"field": "stage", "value": "b-done"}),
        node("tc", "add_tag", {"tag": "branch-c"}),
        node("sc", "update_score", {"delta": 3}),
        node("m", "merge", {"mode": "all"}),
        node("mz", "send_email", {"template_id": after}),
    ]
    edges = [edge("t", "p"), edge("p", "ma", "a"), edge("ma", "ta"), edge("ta", "m"), edge("p", "d", "b"),
             edge("d", "mb"), edge("mb", "fb"), edge("fb", "m"), edge("p", "tc", "c"), edge("tc", "sc"),
             edge("sc", "m"), edge("m", "mz")]  # fmt: skip
    return publish(workspace, nodes, edges, name="Chaos parallel")


def _enroll(workflow, workspace, round_no: int) -> list:
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    contacts = Contact.objects.bulk_create([
        Contact(workspace=workspace, email=f"fork-{round_no}-{n}@example.com", first_name=f"F{n}", score=0)
        for n in range(PER_ROUND)
    ])  # fmt: skip
    report = enrollments_start(version=published_version_of(workflow), entries=[Entry(c.pk, "t") for c in contacts])
    assert len(report.started) == PER_ROUND
    return report.started


def _check_round(ids, inbox) -> None:
    """Assert the round's invariants (before the operator resends what a kill left `unknown`)."""
    enrollments = Enrollment.objects.filter(pk__in=ids)
    assert enrollments.filter(status="completed").count() == PER_ROUND, Counter(
        enrollments.values_list("status", flat=True)
    )
    steps = StepRun.objects.filter(enrollment_id__in=ids)
    succeeded = Counter(steps.filter(status="succeeded").values_list("node_id", flat=True))
    assert succeeded == {step: PER_ROUND for step in ["t", "p", *BRANCH_STEPS, "m", "mz"]}
    per_enrollment = Counter(steps.filter(status="succeeded").values_list("enrollment_id", "node_id"))
    assert max(per_enrollment.values()) == 1  # no branch step ran twice successfully
    arrivals = Counter(steps.filter(node_id="m", status="waiting").values_list("enrollment_id", "detail__path"))
    assert len(arrivals) == 3 * PER_ROUND and set(arrivals.values()) == {1}  # each branch arrived once
    rows = OutboxMessage.objects.filter(enrollment_id__in=ids)
    assert rows.count() == 3 * PER_ROUND
    statuses = Counter(rows.values_list("status", flat=True))
    assert set(statuses) <= {"sent", "unknown"}, statuses
    with inbox.lock:
        arrived = dict(inbox.arrivals)
    assert all(count == 1 for count in arrived.values()), "an email arrived twice"
    for message_id in rows.filter(status="sent").values_list("message_id", flat=True):
        assert arrived.get(message_id) == 1
    tagged = Contact.objects.filter(enrollments__in=ids, tags__contains=["branch-a", "branch-c"], score=3)
    assert tagged.count() == PER_ROUND  # each branch's contact change once (the score moved by 3, not 6)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_chaos_parallel_branches_are_neither_lost_nor_duplicated(workspace, tmp_path):
    workflow = _workflow(workspace)
    rng = random.Random(20261203)
    unknown_total = 0
    with chaos_stack(workspace, tmp_path) as stack:
        for round_no in range(ROUNDS):
            ids = _enroll(workflow, workspace, round_no)
            _wait(_Round(ids), stack.fleet, rng, on_half=stack.restart_redis if KILLS else None)
            _check_round(ids, stack.inbox)
            unknown_total += stack.resend_lost_and_check(ids)
        print(f"\nchaos parallel: {ROUNDS} rounds x {PER_ROUND} enrollments x 3 branches, {stack.fleet.kills} "
              f"worker kills, {unknown_total} emails left unknown by a kill and resent by the operator")
