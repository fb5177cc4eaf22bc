"""The figures of `bench soak`: what the receivers counted, mapped back to the events that caused it.

Each message the stand-ins received names its row (the outbox id in the email's X-PenguinFlow-Message header,
the SMS row in its status callback URL, the push row in the payload) or, for the webhook action, its enrollment
(in the body): the database says which event started that enrollment, and when it was received. An event is
delivered when one message of it arrived; a duplicate is a second arrival of the same message or a second message
for the same event; a lost one is an accepted event none of whose messages arrived.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, TextIO

from bench._runner import percentile
from bench._soak_tasks import CONTACT_CYCLE_S, QUEUES
from bench._support import python_speed_ms

MESSAGE_TABLES = {"email": "templates_outboxmessage", "sms": "sms_smsmessage", "push": "push_pushmessage"}
FLAT_MIB_PER_MIN = 1.0  # |slope| under this over the last two thirds of the load: flat
WARM_UP_S = 30  # a process's first seconds (imports, first connections) are left out of its slope
MIN_WINDOW_S = 60  # a shorter window says nothing about a leak


@dataclass
class Outcome:
    offered: dict[str, Any]  # the client's counts: per channel (accepted, offered, statuses), live
    arrivals: dict[str, list[tuple[str, float]]]  # per channel [(message id, arrival time)]
    rss: dict[str, list[tuple[float, float]]]  # per process [(time, MiB)]
    load_window: tuple[float, float]
    kills: list[str]
    drained_s: float
    workflows: dict[str, str]
    cpu: dict[str, float] | None = None  # CPU seconds from the start of the load to the end of the drain
    figures: dict[str, Any] | None = None


def _messages(conn, channel: str, workflow_id: str) -> dict[str, tuple[int, float, str]]:
    """Message id -> (event id, event received_at as epoch seconds, message status) of a channel's workflow."""
    if channel == "webhook":
        query = ("SELECT n.id::text, e.id, extract(epoch FROM e.received_at), n.status FROM workflows_enrollment n "
                 "JOIN events_event e ON e.id = n.trigger_event_id WHERE n.workflow_id = %s")
    else:
        query = (f"SELECT m.id::text, e.id, extract(epoch FROM e.received_at), m.status FROM {MESSAGE_TABLES[channel]} m "
                 "JOIN workflows_enrollment n ON n.id::text = split_part(m.key, ':', 1) "
                 "JOIN events_event e ON e.id = n.trigger_event_id WHERE n.workflow_id = %s")
    return {row[0]: (row[1], float(row[2]), row[3]) for row in conn.execute(query, [workflow_id]).fetchall()}


def _channel(conn, channel: str, workflow_id: str, accepted: int, log: list[tuple[str, float]],
             load_ended: float) -> dict[str, Any]:
    messages = _messages(conn, channel, workflow_id)
    enrolled, live = conn.execute("SELECT count(*), count(*) FILTER (WHERE status IN ('active', 'waiting')) "
                                  "FROM workflows_enrollment WHERE workflow_id = %s", [workflow_id]).fetchone()
    unprocessed = conn.execute("SELECT count(*) FROM events_event WHERE type = %s AND processed_at IS NULL",
                               [f"soak.{channel}"]).fetchone()[0]
    # The product's own count of the entries its trigger offered that did not start, by reason (analytics
    # `triggers`): what tells a processed event that started nothing by the workflow's rule from a lost one.
    skipped = dict(conn.execute(
        "SELECT split_part(c.key, '.skipped.', 2), sum(c.value)::int FROM workflows_workflowcounter c "
        "JOIN workflows_workflowversion v ON v.id = c.version_id "
        "WHERE v.workflow_id = %s AND c.key LIKE 'trigger.%%.skipped.%%' GROUP BY 1", [workflow_id]).fetchall())
    arrivals = Counter(message for message, _ in log)
    first_at: dict[str, float] = {}
    for message, at in log:
        first_at.setdefault(message, at)
    by_event: dict[int, list[str]] = {}
    for message in arrivals:
        if message in messages:
            by_event.setdefault(messages[message][0], []).append(message)
    # When each delivered event's first message arrived.
    arrived = [(min(first_at[m] for m in found), messages[found[0]][1]) for found in by_event.values()]
    lags = [(at - received) * 1000 for at, received in arrived]
    repeated = sum(n - 1 for message, n in arrivals.items() if message in messages)
    unsent = Counter(status for message, (_, _, status) in messages.items() if message not in arrivals)
    if channel == "webhook":  # its "rows" are the enrollments: a live one has not reached its step yet
        unsent = Counter({status: n for status, n in unsent.items() if status not in ("active", "waiting")})
    # Still on its way when the drain ended: its event unprocessed, its enrollment live, or its row not yet sent.
    pending = unprocessed + live + unsent.pop("queued", 0) + unsent.pop("sending", 0)
    lost = accepted - len(by_event)
    # Processed events that started nothing, and of them those the product counted as skipped by its rule (the
    # contact's previous enrollment was still live, say).
    not_started = accepted - unprocessed - enrolled
    return {
        "accepted": accepted, "delivered": len(by_event), "lost": lost, "pending": pending,
        "delivered_during_load": sum(1 for at, _ in arrived if at <= load_ended),
        "duplicates": repeated + sum(len(found) - 1 for found in by_event.values()),
        "not_started": not_started, "skipped": skipped,
        "not_started_counted": min(sum(skipped.values()), not_started), "unsent": dict(unsent),
        "unmatched_arrivals": sum(n for message, n in arrivals.items() if message not in messages), "lags_ms": lags,
    }  # fmt: skip


def _processing_lag(conn) -> tuple[float, float]:
    """p50, p99 (ms) from an event's receipt to its processing (trigger matching, enrollments started)."""
    row = conn.execute(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) "
        "FROM (SELECT extract(epoch FROM processed_at - received_at) * 1000 AS lag FROM events_event "
        "WHERE type LIKE 'soak.%%' AND processed_at IS NOT NULL) AS lags").fetchone()  # fmt: skip
    return float(row[0] or 0), float(row[1] or 0)


def _step_lag(conn, workflows: list[str]) -> tuple[float, float, int]:
    """p50, p99 (ms) from an event's receipt to the end of the send step it caused (its first attempt), and how many."""
    row = conn.execute(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), "
        "count(*) FROM (SELECT extract(epoch FROM coalesce(s.finished_at, s.started_at) - e.received_at) * 1000 AS lag "
        "FROM workflows_steprun s JOIN workflows_enrollment n ON n.id = s.enrollment_id "
        "JOIN events_event e ON e.id = n.trigger_event_id "
        "WHERE n.workflow_id = ANY(%s::uuid[]) AND s.node_id = 's' AND s.attempt = 1) AS lags", [workflows]
    ).fetchone()  # fmt: skip
    return float(row[0] or 0), float(row[1] or 0), row[2]


def _slope_mib_per_min(samples: list[tuple[float, float]], since: float) -> float | None:
    """Least-squares slope of RSS over the samples after `since` (and after the process's warm-up), MiB/min."""
    if not samples:
        return None
    points = [(t, mib) for t, mib in samples if t >= max(since, samples[0][0] + WARM_UP_S)]
    if len(points) < 3:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_m = sum(m for _, m in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (m - mean_m) for t, m in points) / spread * 60 if spread else None


def _errors(conn, redis_db: int) -> dict[str, Any]:
    import redis
    from rq.registry import FailedJobRegistry

    connection = redis.Redis(db=redis_db)
    failed_jobs = {q: FailedJobRegistry(name=q, connection=connection).count for q in QUEUES}
    return {
        "failed_steps": conn.execute("SELECT count(*) FROM workflows_steprun WHERE status = 'failed'").fetchone()[0],
        "unprocessed_events": conn.execute("SELECT count(*) FROM events_event WHERE processed_at IS NULL").fetchone()[0],
        # Written processed (nothing reacted to them: workflows.event_reactions) have processed_at = received_at;
        # a queued event is processed later than it was received.
        "events_written": conn.execute("SELECT count(*), count(*) FILTER (WHERE processed_at = received_at) "
                                       "FROM events_event").fetchone(),
        "failed_jobs": {q: n for q, n in failed_jobs.items() if n},
    }


def _cpu_lines(line, cpu: dict[str, float], delivered: int) -> None:
    """Where the machine's CPU went, per message delivered: what the product needs per event on this hardware, and
    so the rate one core of it would carry if the stand-ins and the client ran elsewhere."""
    own = cpu["penguinflow"] + cpu["postgres"]
    rest = max(cpu["machine"] - own, 0.0)
    line("cpu_s", f"{cpu['machine']:.0f}", f"machine; PenguinFlow's processes {cpu['penguinflow']:.0f} (web "
                                             f"{cpu['web']:.0f}, scheduler {cpu['scheduler']:.0f}, workers "
                                             f"{cpu['workers']:.0f}), PostgreSQL {cpu['postgres']:.0f}, the rest "
                                             f"(stand-ins, client, others) {rest:.0f}")
    per_message = own / delivered
    line("cpu_ms_per_message", f"{per_message * 1000:.2f}",
         f"PenguinFlow's processes and PostgreSQL, event to message: about {1 / per_message:.0f} messages/s per "
         "core they have to themselves")


def _job_cpu_lines(line, redis_db: int, workers_cpu: float, delivered: int) -> dict[str, tuple[float, int]]:
    """The workers' CPU by kind of job (bench._soak_worker), per message delivered; and what the workers used
    outside jobs (taking jobs, the live updates' thread; and the job a killed worker was running)."""
    import redis

    from bench._soak_worker import JOB_COUNT_KEY, JOB_CPU_KEY

    connection = redis.Redis(db=redis_db, decode_responses=True)
    counts = connection.hgetall(JOB_COUNT_KEY)
    by_job = {name: (float(seconds), int(counts.get(name, 0)))
              for name, seconds in connection.hgetall(JOB_CPU_KEY).items()}
    for name, (seconds, jobs) in sorted(by_job.items(), key=lambda item: -item[1][0]):
        line(f"job_cpu.{name.rsplit('.', 1)[-1]}", f"{seconds * 1000 / delivered:.2f}",
             f"ms per message; {seconds:.1f} s in {jobs} jobs of {name}, {seconds * 1000 / max(jobs, 1):.0f} ms each")
    outside = workers_cpu - sum(seconds for seconds, _ in by_job.values())
    line("job_cpu.outside_jobs", f"{outside * 1000 / delivered:.2f}", "ms per message; the workers' CPU outside "
         "jobs: taking jobs, live updates, and the jobs the killed workers were running")
    return by_job


def write_report(out: TextIO, outcome: Outcome, *, params: dict[str, Any], db_name: str, redis_db: int) -> None:
    """Read the database, print the figures (one per line) and keep them on `outcome.figures`."""
    import psycopg

    def line(name: str, value: Any, note: str = "") -> None:
        out.write(f"soak.{name}".ljust(31) + f" {value}" + (f"   ({note})" if note else "") + "\n")

    loads = outcome.offered["channels"]
    with psycopg.connect(**params, dbname=db_name, autocommit=True) as conn:
        channels = {c: _channel(conn, c, outcome.workflows[c], loads[c]["accepted"], outcome.arrivals.get(c, []),
                                outcome.load_window[1])
                    for c in outcome.workflows}  # fmt: skip
        step_p50, step_p99, steps = _step_lag(conn, list(outcome.workflows.values()))
        processed_p50, processed_p99 = _processing_lag(conn)
        errors = _errors(conn, redis_db)
    started, ended = outcome.load_window
    offered, accepted = (sum(load[k] for load in loads.values()) for k in ("offered", "accepted"))
    statuses = Counter()
    for load in loads.values():
        statuses.update(load["statuses"])
    server_errors = sum(n for status, n in statuses.items() if status.startswith("5"))
    lags = [lag for figures in channels.values() for lag in figures["lags_ms"]]
    line("python_speed_ms", f"{python_speed_ms():.0f}", "fixed pure-Python work; lower is a faster machine")
    load_s = max(load["seconds"] for load in loads.values())
    line("events_offered", offered, f"{offered / max(load_s, 1e-9):.0f}/s over {load_s:.0f} s")
    line("events_accepted", accepted, f"answers {dict(statuses)}")
    line("lag_to_processed_ms_p50", f"{processed_p50:.0f}", "event received -> processed (enrollments started)")
    line("lag_to_processed_ms_p99", f"{processed_p99:.0f}")
    line("lag_to_step_ms_p50", f"{step_p50:.0f}", "event received -> send step done")
    line("lag_to_step_ms_p99", f"{step_p99:.0f}", f"{steps} send steps")
    line("lag_to_message_ms_p50", f"{percentile(lags, 0.50):.0f}", "event received -> message at the receiver")
    line("lag_to_message_ms_p99", f"{percentile(lags, 0.99):.0f}", "per channel: " + " ".join(
        f"{c}={percentile(f['lags_ms'], 0.99):.0f}" for c, f in channels.items()))
    judged: list[bool] = []
    since = started + (ended - started) / 3
    for name, samples in sorted(outcome.rss.items()):
        slope = _slope_mib_per_min(samples, since)
        window = samples[-1][0] - max(since, samples[0][0] + WARM_UP_S)
        if slope is not None and window >= MIN_WINDOW_S:
            judged.append(abs(slope) < FLAT_MIB_PER_MIN)
        note = f"slope {slope:+.2f} MiB/min over {window:.0f} s" if slope is not None else "too few samples"
        line(f"rss_mib_peak.{name}", f"{max(m for _, m in samples):.0f}",
             note + ("" if window >= MIN_WINDOW_S else ", too short to judge"))
    flat = all(judged) if judged else None
    line("memory_flat", {True: "yes", False: "NO", None: "not judged"}[flat],
         f"|slope| < {FLAT_MIB_PER_MIN:g} MiB/min from 1/3 of the load to the end of the drain, for every process "
         f"sampled there {MIN_WINDOW_S} s or more after its first {WARM_UP_S} s: {len(judged)} judged")
    line("worker_kills", len(outcome.kills), "; ".join(outcome.kills))
    line("errors_failed_steps", errors["failed_steps"])
    line("errors_5xx", server_errors)
    line("errors_failed_jobs", errors["failed_jobs"] or 0, "RQ's failed registry: exceptions, and the jobs of "
                                                            "killed workers (their leases give the work back)")
    written, settled = errors["events_written"]
    line("events_written", written, f"{settled} of them written processed, since nothing reacts to them "
                                    f"(workflow.*, *.sent): {written - settled} queued")
    line("unprocessed_events", errors["unprocessed_events"], f"after {outcome.drained_s:.0f} s of drain")
    delivered = sum(f["delivered"] for f in channels.values())
    line("messages_delivered", delivered, " ".join(f"{c}={f['delivered']}" for c, f in channels.items()))
    # Whether the machine kept up: what arrived while the load ran, and how far behind it was when the load ended.
    during = sum(f["delivered_during_load"] for f in channels.values())
    line("throughput_during_load", f"{during / max(ended - started, 1e-9):.0f}",
         f"messages/s at the receivers while {offered / max(load_s, 1e-9):.0f} events/s were offered; "
         f"{max(accepted - during, 0)} accepted events were still without their message when the load ended")
    lost = sum(f["lost"] for f in channels.values())
    pending = sum(f["pending"] for f in channels.values())
    not_started = sum(f["not_started_counted"] for f in channels.values())
    line("messages_undelivered", lost, f"accepted events without a message at the receiver; {pending} of them "
                                       f"still on their way when the drain ended, {not_started} not started by "
                                       "the workflows' rule")
    skips = ", ".join(f"{c} {reason} {n}" for c, f in channels.items() for reason, n in sorted(f["skipped"].items()))
    line("events_not_started", not_started, f"processed, and skipped by the trigger as its counters say: "
         f"{skips or 'none'}; a contact's next event comes {CONTACT_CYCLE_S} s after its previous one, and a "
         "killed worker's enrollments wait out their lease")
    unexplained = lost - pending - not_started
    line("messages_lost", unexplained, " ".join(
        f"{c}={f['lost'] - f['pending'] - f['not_started_counted']} (started nothing uncounted "
        f"{f['not_started'] - f['not_started_counted']}, rows {f['unsent']})" for c, f in channels.items()))
    line("messages_duplicated", sum(f["duplicates"] for f in channels.values()), " ".join(
        f"{c}={f['duplicates']}" for c, f in channels.items()))
    job_cpu = {}
    if outcome.cpu and delivered:
        _cpu_lines(line, outcome.cpu, delivered)
        job_cpu = _job_cpu_lines(line, redis_db, outcome.cpu["workers"], delivered)
    live = outcome.offered["live"]
    line("live_messages", live["workflow"] + live["workspace"],
         f"{outcome.offered['subscribers']} subscribers: canvas routes {live['workflow']}, list routes "
         f"{live['workspace']}; {live['connections']} connections, {live['dropped']} dropped or refused")
    line("load_average", f"{os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} on {os.cpu_count()} cores")
    out.flush()
    outcome.figures = {"channels": channels, "offered": offered, "accepted": accepted, "server_errors": server_errors,
                       "errors": errors, "live": live, "flat": flat,
                       "lost": unexplained, "pending": pending, "not_started": not_started,
                       "job_cpu": job_cpu}  # fmt: skip
