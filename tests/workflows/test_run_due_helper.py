"""The test helper `run_due` says when an engine job failed, instead of leaving it to a wrong count later."""

from __future__ import annotations

import django_rq
import pytest
from django.test import TestCase
from rq.worker import SimpleWorker

from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import EngineJobFailed, publish, run_due
from tests.workflows.test_runtime import enroll


def job_that_fails() -> None:
    raise RuntimeError("the job broke on purpose")


def enqueue_failing_job():
    queue = django_rq.get_queue("engine")
    with TestCase.captureOnCommitCallbacks(execute=True):  # django-rq enqueues on commit
        queue.enqueue(job_that_fails)
    return queue


@pytest.fixture(autouse=True)
def _empty_queue():
    django_rq.get_queue("engine").empty()


def test_a_failed_engine_job_raises_with_its_traceback(api, workspace):
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))
    enroll(api, workflow, ContactFactory(workspace=workspace))
    enqueue_failing_job()

    with pytest.raises(EngineJobFailed, match="the job broke on purpose"):
        run_due()


def test_failures_from_before_the_call_are_not_blamed_on_it(api, workspace):
    queue = enqueue_failing_job()
    failed_before = queue.failed_job_registry.count
    SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "x"})], chain("t", "a"))
    enroll(api, workflow, ContactFactory(workspace=workspace))

    assert queue.failed_job_registry.count == failed_before + 1
    assert run_due() == 1
