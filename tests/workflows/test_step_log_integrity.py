"""Step runs go with their enrollment. The database no longer checks a step run's enrollment (a query per step
inserted), so what removes enrollments must remove their step runs: Django's cascade does, for every way an
enrollment leaves (its contact erased, a queryset deleted)."""

from __future__ import annotations

from contacts.services import contact_erase
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from tests.workflows.test_runtime import enroll
from workflows.models import Enrollment, StepRun


def _ran(api, workspace):
    contact = ContactFactory(workspace=workspace)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"}),
                                   node("b", "add_tag", {"tag": "y"})], chain("t", "a", "b"))
    enroll(api, workflow, contact)
    run_due()
    enrollment = Enrollment.objects.get(contact=contact)
    assert StepRun.objects.filter(enrollment=enrollment).count() >= 2
    return contact, enrollment


def test_erasing_a_contact_removes_its_enrollments_step_runs(api, workspace):
    contact, enrollment = _ran(api, workspace)
    _, other_enrollment = _ran(api, workspace)

    contact_erase(contact=contact)

    assert not StepRun.objects.filter(enrollment_id=enrollment.pk).exists()
    assert StepRun.objects.filter(enrollment_id=other_enrollment.pk).count() >= 2  # only theirs


def test_deleting_enrollments_in_bulk_removes_their_step_runs(api, workspace):
    _, enrollment = _ran(api, workspace)

    Enrollment.objects.filter(pk=enrollment.pk).delete()

    assert not StepRun.objects.filter(enrollment_id=enrollment.pk).exists()
