"""A full disk for the logs: the workers and the scheduler write their log file to /dev/full (ENOSPC on every
write), set through the real settings (LOG_FILE, LOG_LEVEL=DEBUG so that every job logs), and still run every
job once: each enrollment completes, each step succeeds once, each email arrives once. No process dies or
restarts, and each says once on stderr that its log file cannot be written, not once per record.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from templates.models import OutboxMessage
from tests.chaos import wait_for
from tests.engine.graphs import chain, node
from tests.factories import EmailTemplateFactory
from tests.workflows.builders import publish
from tests.workflows.test_chaos import _Round, chaos_stack
from workflows.models import Enrollment, StepRun

ENROLLMENTS = 300
STEPS = ["t", "m", "a", "f"]
# The console handler's format (settings.LOGGING "plain"): each such line on stderr went to the file too.
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ", re.M)
GAVE_WAY = "penguinflow logging: cannot write the log file /dev/full"


def _workflow(workspace):
    template = EmailTemplateFactory(
        workspace=workspace, subject="Hello", html="<p>Hi {{ contact.first_name }}</p>"
    )
    nodes = [
        node("t", "trigger_manual"),
        node("m", "send_email", {"template_id": str(template.pk)}),
        node("a", "add_tag", {"tag": "logged"}),
        node("f", "update_field", {"field": "stage", "value": "done"}),
    ]
    return publish(workspace, nodes, chain(*STEPS), name="Full disk")


def _enroll(workflow, workspace) -> list:
    from contacts.models import Contact
    from workflows.enrollment_starts import Entry, enrollments_start
    from workflows.live_versions import published_version_of

    contacts = Contact.objects.bulk_create(
        [
            Contact(workspace=workspace, email=f"full-{n}@example.com", first_name=f"F{n}")
            for n in range(ENROLLMENTS)
        ]
    )
    report = enrollments_start(
        version=published_version_of(workflow), entries=[Entry(contact.pk, "t") for contact in contacts]
    )
    return report.started


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_workers_whose_log_file_is_full_run_every_job_once(workspace, tmp_path):
    workflow = _workflow(workspace)
    with chaos_stack(workspace, tmp_path, extra={"LOG_FILE": "/dev/full", "LOG_LEVEL": "DEBUG"}) as stack:
        fleet = stack.fleet
        first_workers = [process.pid for process in fleet.workers]
        ids = _enroll(workflow, workspace)
        round_ = _Round(ids)
        wait_for(round_.done, what=f"every enrollment and email settled ({round_.state()})", timeout=240)

        alive = [process.poll() is None for process in [*fleet.workers, *fleet.schedulers]]
        assert alive == [True, True, True], fleet.tail()
        assert [process.pid for process in fleet.workers] == first_workers

        assert Counter(Enrollment.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
            "completed": ENROLLMENTS
        }
        succeeded = StepRun.objects.filter(enrollment_id__in=ids, status="succeeded")
        assert Counter(succeeded.values_list("node_id", flat=True)) == {step: ENROLLMENTS for step in STEPS}
        assert max(Counter(succeeded.values_list("enrollment_id", "node_id")).values()) == 1
        rows = OutboxMessage.objects.filter(enrollment_id__in=ids)
        assert Counter(rows.values_list("status", flat=True)) == {"sent": ENROLLMENTS}
        arrivals = stack.arrivals()
        assert (
            sorted(arrivals.get(message_id) for message_id in rows.values_list("message_id", flat=True))
            == [1] * ENROLLMENTS
        )

        output = {path.name: path.read_text(errors="replace") for path in tmp_path.glob("*.log")}
        records = {name: len(RECORD.findall(text)) for name, text in output.items()}
        notices = {name: text.count(GAVE_WAY) for name, text in output.items()}
        assert sum(records.values()) > 0, "nothing was logged: the test proves nothing"
        # One notice per process that logged (two workers and the scheduler share rqworker.log), never one per record.
        assert 1 <= notices["rqworker.log"] <= 2 and notices.get("run_scheduler.log", 0) <= 1, notices
        assert not any("--- Logging error ---" in text for text in output.values())
        print(
            f"\nfull disk for logs: {ENROLLMENTS} enrollments x {len(STEPS)} steps completed once, "
            f"{rows.count()} emails delivered once, 0 duplicates; {sum(records.values())} log records written to "
            f"/dev/full and dropped ({records}), stderr notices {notices}, 0 process restarts"
        )
