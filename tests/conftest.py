"""The root of the tests: plain pytest, no Django, so that tests/engine/ runs where Django is not installed.

The integration tests' fixtures (workspaces, API clients, cleanup between tests) are in `tests.django_fixtures`,
registered here when pytest-django is active: always in `make test`, never with `-p no:django` or in the
engine-only environment (`make test-engine`).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.hasplugin("django"):
        # pyproject.toml names the settings for pytest-django; without it, pytest would warn of an unknown option.
        parser.addini("DJANGO_SETTINGS_MODULE", "The Django settings of the integration tests (unused here).")


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("django"):
        config.pluginmanager.import_plugin("tests.django_fixtures")
    config.pluginmanager.import_plugin("tests.bad_input_tally")


# --- Workers: the delivery queues of the channels, worked by a real RQ worker in this process -----------------
# (Imports inside the fixtures: this module must load where Django and RQ are not installed.)


def _emptied_queue(name: str):
    """The RQ queue `name`, emptied (waiting, scheduled, failed and started jobs) before and after the test: the job
    of a worker killed in a chaos test is moved to "failed" by the next worker that cleans up, which would blame a
    later test for it."""
    import django_rq

    queue = django_rq.get_queue(name)

    def empty() -> None:
        queue.empty()
        queue.connection.delete(queue.started_job_registry.key)
        for registry in (queue.scheduled_job_registry, queue.failed_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)

    empty()
    yield queue
    empty()


def _burst(queue):
    """Return a function that drains `queue` with a real non-forking RQ worker and fails the test if a job failed."""
    from rq import SimpleWorker

    def run() -> int:
        count = queue.count
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        failed = queue.failed_job_registry.get_job_ids()
        assert failed == [], f"{queue.name} jobs failed: {failed}"
        return count

    return run


@pytest.fixture
def sms_queue():
    yield from _emptied_queue("sms")


@pytest.fixture
def push_queue():
    yield from _emptied_queue("push")


@pytest.fixture
def run_sms_jobs(sms_queue):
    """Drain the "sms" queue (delivery jobs) in this process; return how many jobs there were."""
    return _burst(sms_queue)


@pytest.fixture
def run_push_jobs(push_queue):
    """Drain the "push" queue (delivery jobs) in this process; return how many jobs there were."""
    return _burst(push_queue)


@pytest.fixture
def run_steps(django_capture_on_commit_callbacks):
    """Run the due steps at `now` (the runtime's batches), with the delivery jobs they enqueue at commit enqueued
    (a test's transaction never commits); return how many enrollments ran."""
    from tests.workflows.builders import run_due

    def run(now) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return run_due(now=now)

    return run
