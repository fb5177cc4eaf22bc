"""Chaos in the infrastructure under the runtime: PostgreSQL backends terminated every 1-3 s, PostgreSQL restarted,
Redis flushed and restarted, two schedulers and four workers at once (issue 22, "Faults").

Each test runs one workload on the fleet of `test_chaos` (real scheduler and worker processes, a Redis of the
test's own, an aiosmtpd server): FAULTS_ENROLLMENTS enrollments (150) started directly in the 10-step, two-email
workflow of `test_chaos`, and FAULTS_EVENTS events (150) stored at once, each of which starts an enrollment in a
workflow that sends an email and tags. The emails' `email.sent` events are processed too.

At the end: every event of the workspace processed (none parked), each signup event started exactly one
enrollment; every enrollment completed, each step succeeded once; no email arrived twice, every `sent` one
arrived, and after the operator resends those a fault left `unknown` (sent or not, nobody can tell), every email
arrived exactly once. Each test prints its figures: the faults inflicted, how long the runtime took to move
again after each, lost = 0 and duplicated = 0 (asserted).

A test has no fixed deadline: it fails when nothing moves for CHAOS_STALL seconds (`test_chaos._wait`).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from contacts.models import Contact
from events.models import Event
from events.services import NewEvent, events_emit
from tests.engine.graphs import chain, node
from tests.factories import EmailTemplateFactory
from tests.workflows.builders import publish
from tests.workflows.test_chaos import _enroll, _Round, _wait, _workflow, chaos_stack, check_round, free_port
from workflows.models import Enrollment, StepRun

ENROLLMENTS = int(os.environ.get("FAULTS_ENROLLMENTS", "150"))
EVENTS = int(os.environ.get("FAULTS_EVENTS", "150"))
SIGNUP = "chaos.signup"
SIGNUP_STEPS = ["t", "m", "a"]
# A batch of events whose job a fault lost is claimed again after this lease (60 s in production).
FLEET_ENV = {"EVENTS_LEASE_SECONDS": "10"}
PG_BIN = Path("/usr/lib/postgresql/15/bin")


# --- the workload ------------------------------------------------------------------------------------------------


def _signup_workflow(workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="Signed up {{ contact.first_name }}",
                                    html="<p>Welcome</p>")
    nodes = [node("t", "trigger_event", {"event": SIGNUP}), node("m", "send_email", {"template_id": str(template.pk)}),
             node("a", "add_tag", {"tag": "signed-up"})]  # fmt: skip
    return publish(workspace, nodes, chain(*SIGNUP_STEPS), name="Chaos signups")


class Workload:
    """The enrollments started directly and the signup events of a run, and what has become of them."""

    def __init__(self, workspace) -> None:
        self.workspace = workspace
        self.direct = _enroll(_workflow(workspace), workspace, 0, ENROLLMENTS)
        _signup_workflow(workspace)
        contacts = Contact.objects.bulk_create([
            Contact(workspace=workspace, email=f"signup-{n}@example.com", first_name=f"S{n}") for n in range(EVENTS)
        ])  # fmt: skip
        stored = events_emit(workspace=workspace, events=[NewEvent(type=SIGNUP, contact_id=c.pk) for c in contacts])
        self.signups = [event.id for event in stored]

    def from_events(self) -> list:
        return list(Enrollment.objects.filter(trigger_event_id__in=self.signups).values_list("pk", flat=True))

    def unprocessed(self):
        return Event.objects.filter(workspace=self.workspace, processed_at__isnull=True)


class _WorkloadRound(_Round):
    """`test_chaos._Round` over both kinds of enrollment, done only once every event is processed too."""

    def __init__(self, workload: Workload, faults: Faults | None) -> None:
        super().__init__(workload.direct)
        self.workload, self.faults = workload, faults

    def _refresh(self) -> None:
        self.ids = self.workload.direct + self.workload.from_events()

    def done(self) -> bool:
        work_done = self._work_done()
        if self.faults is not None and not self.faults.all_inflicted():
            # A fast machine may finish before every fault is in: the last ones then meet an idle runtime, which
            # must ride them out as well (the fleet is checked alive at the end), with nothing left to move.
            if work_done:
                self.faults.idle()
            return False
        return work_done

    def _work_done(self) -> bool:
        if self.workload.unprocessed().exists():
            return False
        self._refresh()
        return super().done()

    def progress(self) -> int:
        self._refresh()
        processed = Event.objects.filter(workspace=self.workload.workspace, processed_at__isnull=False).count()
        return super().progress() + processed


def _run_and_check(workload: Workload, stack, faults: Faults | None = None,
                   rng: random.Random | None = None) -> int:
    """Run the workload to its end under `faults` (and worker kills, given `rng`); check nothing was lost or
    duplicated; return how many emails a fault left `unknown` (resent by the operator)."""
    _wait(_WorkloadRound(workload, faults), stack.fleet, rng, disturb=faults)
    assert not workload.unprocessed().exists()
    assert not Event.objects.filter(workspace=workload.workspace, parked_at__isnull=False).exists()
    from_events = Enrollment.objects.filter(trigger_event_id__in=workload.signups)
    assert Counter(from_events.values_list("trigger_event_id", flat=True)) == dict.fromkeys(workload.signups, 1)
    assert from_events.filter(status="completed").count() == EVENTS
    runs = StepRun.objects.filter(enrollment__in=from_events, status="succeeded")
    assert Counter(runs.values_list("node_id", flat=True)) == dict.fromkeys(SIGNUP_STEPS, EVENTS)
    assert max(Counter(runs.values_list("enrollment_id", "node_id")).values()) == 1
    everyone = workload.direct + workload.from_events()
    check_round(workload.direct, stack.arrivals(), emails=2 * ENROLLMENTS + EVENTS, emails_of=everyone)
    return stack.resend_lost_and_check(everyone)


# --- faults ------------------------------------------------------------------------------------------------------


class Faults:
    """Inflict a fault every `pause` seconds, at most `limit` times, the first once the runtime has started moving
    and each once it has moved since the previous one (on a busy machine, faults on a clock alone would leave it no
    time to work, and a fault before the processes are up would measure their start); measure how long the runtime
    takes to move again after each."""

    def __init__(self, inflict: Callable[[], None], *, pause: tuple[float, float], rng: random.Random,
                 limit: int | None = None) -> None:
        self.inflict, self.pause, self.rng, self.limit = inflict, pause, rng, limit
        self.count, self.recoveries = 0, []
        self.pending: tuple[float, int] | None = None
        self.next_at: float | None = None

    def __call__(self, progress: int) -> None:
        now = time.monotonic()
        if self.next_at is None:
            if progress > 0:
                self.next_at = now + self.rng.uniform(*self.pause)
            return
        if self.pending is not None:
            at, before = self.pending
            if progress <= before:
                return
            self.recoveries.append(now - at)
            self.pending = None
        if now < self.next_at or (self.limit is not None and self.count >= self.limit):
            return
        self.inflict()
        self.count += 1
        self.pending = (now, progress)
        self.next_at = time.monotonic() + self.rng.uniform(*self.pause)

    def idle(self) -> None:
        """The work is done: a fault inflicted has nothing left to move, and the next may come at once."""
        self.pending = None
        if self.next_at is None:
            self.next_at = time.monotonic()

    def all_inflicted(self) -> bool:
        """Whether every fault of a limited series was inflicted and the runtime moved after the last one."""
        return self.limit is None or (self.count >= self.limit and self.pending is None)

    def figures(self) -> str:
        if not self.recoveries:
            return f"{self.count} faults"
        return (f"{self.count} faults, moving again after {statistics.median(self.recoveries):.1f} s (median), "
                f"{max(self.recoveries):.1f} s (max)")


class BackendTerminator:
    """`pg_terminate_backend` every backend of a database but its own, from a connection of its own."""

    def __init__(self, settings_dict: dict) -> None:
        self.database = settings_dict["NAME"]
        self.conninfo = (f"host={settings_dict['HOST'] or '127.0.0.1'} port={settings_dict['PORT'] or 5432} "
                         f"user={settings_dict['USER'] or 'postgres'} dbname=postgres")
        self.terminated = 0

    def __call__(self) -> None:
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            ).fetchall()
        self.terminated += sum(1 for (done,) in rows if done)


class PostgresCluster:
    """A PostgreSQL server of the test's own (initdb in a temporary directory, a free port), to restart at will.
    initdb refuses root: as root, the server's commands run as the `postgres` user, owner of the directory."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="pf-faults-pg-"))
        self.data, self.port, self.restarts = self.directory / "data", free_port(), 0
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")

    def _run(self, program: str, *args: str) -> None:
        command = [str(PG_BIN / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{program} failed: {result.stdout}{result.stderr}"

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "start", "-w", "-t", "120", "-D", str(self.data), "-l", str(self.directory / "log"),
                  "-o", options)  # fmt: skip

    def restart(self, mode: str) -> None:
        # The log again: without it the new server would write to pg_ctl's output, a pipe `_run` reads to its end.
        self._run("pg_ctl", "restart", "-w", "-t", "120", "-m", mode, "-D", str(self.data), "-l",
                  str(self.directory / "log"))  # fmt: skip
        self.restarts += 1

    def copy_of(self, settings_dict: dict) -> str:
        """Copy a database of the shared server here (schema and rows); return its name."""
        source = [f"--host={settings_dict['HOST'] or '127.0.0.1'}", f"--port={settings_dict['PORT'] or 5432}",
                  f"--username={settings_dict['USER'] or 'postgres'}"]
        target = ["--host=127.0.0.1", f"--port={self.port}", "--username=postgres"]
        name = settings_dict["NAME"]
        subprocess.run([str(PG_BIN / "createdb"), *target, name], check=True)
        dump = subprocess.Popen([str(PG_BIN / "pg_dump"), *source, "--no-owner", name], stdout=subprocess.PIPE)
        subprocess.run([str(PG_BIN / "psql"), *target, "--quiet", "--set=ON_ERROR_STOP=1", "--dbname", name],
                       stdin=dump.stdout, stdout=subprocess.DEVNULL, check=True)
        assert dump.wait() == 0
        return name

    def remove(self) -> None:
        with contextlib.suppress(AssertionError):
            self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data))
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def database_moved_to(port: int, name: str):
    """Point this process's default connection (and so `process_env`, the fleet's) at another server, then back."""

    def drop_connection() -> None:
        with contextlib.suppress(Exception):
            connection.close()
        connection.close_pool()  # the pool keeps connections to the server it was made for

    saved = dict(connection.settings_dict)
    drop_connection()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(port), NAME=name)
    try:
        yield
    finally:
        drop_connection()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _report(name: str, workload: Workload, stack, faults: str, unknown: int) -> None:
    print(f"\n{name}: {ENROLLMENTS} enrollments + {EVENTS} events ({ENROLLMENTS + EVENTS} enrollments, "
          f"{2 * ENROLLMENTS + EVENTS} emails), {faults}; lost 0, duplicated 0; {unknown} emails left unknown by a "
          f"fault and resent by the operator")


# --- the tests ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_postgres_backends_terminated_every_few_seconds_lose_and_duplicate_nothing(workspace, tmp_path):
    workload = Workload(workspace)
    terminator = BackendTerminator(connection.settings_dict)
    faults = Faults(terminator, pause=(1.0, 3.0), rng=random.Random(20261203))
    with chaos_stack(workspace, tmp_path, FLEET_ENV) as stack:
        unknown = _run_and_check(workload, stack, faults)
        assert stack.fleet.dead() == []
    _report("backends terminated", workload, stack,
            f"{terminator.terminated} backends terminated in {faults.figures()}", unknown)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_postgres_restarted_mid_run_loses_and_duplicates_nothing(workspace, tmp_path):
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    cluster = PostgresCluster()
    try:
        cluster.start()
        name = cluster.copy_of(connection.settings_dict)  # the workspace, content types: this test's rows
        modes = iter(["fast", "immediate"])
        faults = Faults(lambda: cluster.restart(next(modes)), pause=(1.0, 3.0), rng=random.Random(22), limit=2)
        with database_moved_to(cluster.port, name):
            workload = Workload(workspace)
            with chaos_stack(workspace, tmp_path, FLEET_ENV) as stack:
                unknown = _run_and_check(workload, stack, faults)
                assert stack.fleet.dead() == []
        assert cluster.restarts == 2
    finally:
        cluster.remove()
    _report("PostgreSQL restarted", workload, stack,
            f"restarts (-m fast, then -m immediate): {faults.figures()}", unknown)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_redis_flushed_and_restarted_mid_run_loses_and_duplicates_nothing(workspace, tmp_path):
    workload = Workload(workspace)
    with chaos_stack(workspace, tmp_path, FLEET_ENV) as stack:
        steps = iter([stack.flush_redis, stack.restart_redis])
        faults = Faults(lambda: next(steps)(), pause=(1.0, 3.0), rng=random.Random(6379), limit=2)
        unknown = _run_and_check(workload, stack, faults)
        assert stack.fleet.dead() == []
    _report("Redis flushed, then killed and restarted", workload, stack, faults.figures(), unknown)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_and_four_workers_duplicate_nothing(workspace, tmp_path):
    workload = Workload(workspace)
    with chaos_stack(workspace, tmp_path, FLEET_ENV, schedulers=2, workers=4) as stack:
        unknown = _run_and_check(workload, stack, rng=random.Random(24))
        assert stack.fleet.dead() == []
    _report("2 schedulers, 4 workers", workload, stack, f"{stack.fleet.kills} worker kills", unknown)
