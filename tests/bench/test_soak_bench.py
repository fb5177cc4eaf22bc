"""The soak bench's machinery runs end to end for a few seconds at a low rate: its own web, worker and scheduler
processes, the providers' stand-ins, the live subscribers and the two worker kills (its lags are not judged here:
a busy machine is slow)."""

from __future__ import annotations

import io

import pytest
from django.conf import settings

from bench import soak

pytestmark = pytest.mark.slow


def test_soak_counts_every_message_of_every_channel_through_two_worker_kills():
    out = io.StringIO()
    redis_db = int(settings.REDIS_URL.rsplit("/", 1)[1])  # this test process's own Redis database
    outcome = soak.run(out=out, minutes=0.25, rate=20, db_name="penguinflow_bench_soak_smoke", redis_db=redis_db)
    printed = out.getvalue()
    for name in ("events_offered", "events_accepted", "lag_to_step_ms_p99", "lag_to_message_ms_p99",
                 "rss_mib_peak.web", "rss_mib_peak.scheduler", "memory_flat", "worker_kills", "errors_5xx",
                 "messages_lost", "messages_duplicated", "live_messages", "cpu_s", "cpu_ms_per_message",
                 "events_written", "job_cpu.execute_batch", "job_cpu.outside_jobs", "throughput_during_load",
                 "events_not_started"):  # fmt: skip
        assert f"soak.{name}" in printed, printed
    figures = outcome.figures
    assert figures["offered"] == figures["accepted"] > 0, printed
    assert figures["server_errors"] == 0, printed
    for channel, counted in figures["channels"].items():
        assert counted["delivered"] > 0, (channel, printed)
        assert counted["duplicates"] == 0, (channel, printed)
        # Contacts are not reused within a run this short: every event starts its enrollment.
        assert counted["not_started"] == 0, (channel, printed)
    # The events the runtime writes of itself (workflow.enrolled, workflow.completed, email.sent, sms.sent) start
    # nothing and nobody subscribed to them: written processed. Every offered event starts a workflow: queued.
    written, settled = figures["errors"]["events_written"]
    assert settled > 0 and written - settled >= figures["accepted"], printed
    # A killed delivery job may leave a row "sending" (ambiguous: not resent by design); nothing else goes missing.
    assert figures["lost"] == 0, printed
    assert figures["not_started"] == 0, printed
    assert len(outcome.kills) == 2, printed
    assert {"web", "scheduler", "worker-1", "worker-2", "worker-3", "worker-4"} <= set(outcome.rss), printed
    assert figures["live"]["workflow"] > 0 and figures["live"]["workspace"] > 0, printed
    # The product's CPU is counted, the killed workers' included, and is part of what the machine used.
    assert set(outcome.cpu) == {"machine", "penguinflow", "postgres", "web", "scheduler", "workers"}, printed
    assert all(outcome.cpu[role] > 0 for role in ("web", "scheduler", "workers")), printed
    assert outcome.cpu["web"] + outcome.cpu["scheduler"] + outcome.cpu["workers"] == pytest.approx(
        outcome.cpu["penguinflow"]), printed
    assert 0 < outcome.cpu["penguinflow"] < outcome.cpu["machine"], printed
    assert 0 < outcome.cpu["postgres"] < outcome.cpu["machine"], printed
    # The workers' CPU by kind of job: the engine's batches, the events' processing, each channel's deliveries.
    jobs = figures["job_cpu"]
    assert {"workflows.jobs.execute_batch", "events.jobs.process_batch", "templates.jobs.outbox_deliver",
            "sms.jobs.sms_deliver", "push.jobs.push_deliver"} <= set(jobs), printed
    assert all(seconds > 0 and count > 0 for seconds, count in jobs.values()), printed
