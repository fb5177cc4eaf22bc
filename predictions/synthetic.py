"""Synthetic workspaces with a known truth: contacts with hidden propensities and the events they would produce.

Each contact has a hidden churn propensity (a daily hazard of leaving; engagement fades over the three weeks
before), a conversion propensity (purchases and pricing-page views), a base engagement rate, a preferred local hour
and topic interests. The simulation runs `days` of history up to `now` and `horizon_days` beyond it: what happens
after `now` is never written, it is the truth that predictions made at `now` are judged against.

Deterministic by seed: the same spec gives the same contacts (ids included), events and truth.
`simulate()` is pure (numpy); `synthetic_workspace_write()` writes a simulation into the real tables (COPY), as
processed events so that no workflow reacts to them. Reused by tests and benches (send times: `preferred_hour`,
`open_chance`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
from django.db import connection, transaction

TOPICS = ("shoes", "outdoor", "kitchen", "books", "garden", "tech")
TIMEZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo")
TZ_OFFSETS = (0, 1, -5, 9)  # hours from UTC (winter); close enough for a simulation
CONVERSION_EVENT = "order.completed"
# Event type codes of the simulation.
SENT, OPENED, CLICKED, VIEWED, PURCHASED = range(5)
TYPE_NAMES = ("email.sent", "email.opened", "email.clicked", "page.viewed", CONVERSION_EVENT)
SEND_EVERY_DAYS = 3
SEND_HOUR_LOCAL = 10
FADE_DAYS = 21  # engagement fades over this many days before a contact churns


@dataclass(frozen=True)
class SyntheticSpec:
    contacts: int
    days: int = 90
    horizon_days: int = 21
    seed: int = 0


@dataclass(frozen=True)
class ContactTruth:
    """What the simulation knows about one contact and no model sees."""

    churn_propensity: float
    conversion_propensity: float
    engagement: float
    preferred_hour: int  # local hour at which the contact engages most
    timezone: str
    topics: tuple[str, ...]
    churn_day: float  # days from the start of the simulation; inf: never
    churns_in_horizon: bool  # active in the 28 days before `now`, silent over the horizon
    converts_in_horizon: bool
    decays_in_horizon: bool  # engages less than half as much over the horizon as in the 28 days before
    engaged_before: int  # engagements in the 28 days before `now` (churn: > 0 and decay: >= 2 are the populations)
    expected_purchases: float  # the expected purchases over the horizon: the best possible conversion score


@dataclass
class Simulation:
    spec: SyntheticSpec
    now: datetime
    contact_ids: list[uuid.UUID]
    emails: list[str]
    created_day: np.ndarray  # day index of creation (may be negative: before the simulated window)
    truth: dict[uuid.UUID, ContactTruth]
    # Events up to `now`, as parallel arrays: contact index, type code, seconds since the start, topic, bot flag.
    event_contact: np.ndarray
    event_type: np.ndarray
    event_second: np.ndarray
    event_topic: np.ndarray
    event_bot: np.ndarray

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.spec.days)

    def ids_where(self, attribute: str) -> set[uuid.UUID]:
        """Return the contacts whose truth has `attribute` set (e.g. `churns_in_horizon`)."""
        return {cid for cid, truth in self.truth.items() if getattr(truth, attribute)}


def open_chance(truth: ContactTruth, local_hour: int) -> float:
    """Return the chance that the contact opens an email sent at `local_hour` (peaked at the preferred hour):
    the truth a send-time model is judged against."""
    distance = min(abs(local_hour - truth.preferred_hour), 24 - abs(local_hour - truth.preferred_hour))
    return float(min(0.95, (0.1 + 0.6 * truth.engagement) * np.exp(-(distance**2) / 8.0)))


def _contact_ids(seed: int, count: int) -> list[uuid.UUID]:
    namespace = uuid.UUID(int=(seed * 2654435761) % (1 << 128) or 1)
    return [uuid.uuid5(namespace, str(i)) for i in range(count)]


class _Events:
    """Accumulates events as numpy chunks (one per simulated day and type)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray, ...]] = []

    def add(self, contacts: np.ndarray, code: int, seconds: np.ndarray, topics: np.ndarray, bot: bool = False):
        if len(contacts):
            self.chunks.append((contacts.astype(np.int32), np.full(len(contacts), code, np.int8),
                                seconds.astype(np.int64), topics.astype(np.int8), np.full(len(contacts), bot)))

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self.chunks:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, empty, np.zeros(0, bool)
        return tuple(np.concatenate(parts) for parts in zip(*self.chunks, strict=True))


def simulate(spec: SyntheticSpec, *, now: datetime) -> Simulation:
    """Simulate `spec.days` days up to `now` and `spec.horizon_days` after it; return contacts, events and truth."""
    rng = np.random.default_rng(spec.seed)
    n, total = spec.contacts, spec.days + spec.horizon_days
    churn_p = rng.beta(1.3, 2.2, n)
    conversion_p = rng.beta(0.35, 3.0, n)
    engagement = rng.beta(2.0, 3.0, n)
    preferred = rng.integers(6, 23, n)
    zone = rng.integers(0, len(TIMEZONES), n)
    offsets = np.array(TZ_OFFSETS)[zone]
    interests = rng.dirichlet(np.full(len(TOPICS), 0.4), n)
    scanner = rng.random(n) < 0.06  # their mail scanner "opens" everything at once: machine opens
    # 70 % existed before the window; the others sign up over its first two thirds.
    created_day = np.where(rng.random(n) < 0.7, -rng.integers(1, 400, n), rng.integers(0, max(1, spec.days * 2 // 3), n))
    hazard = 0.02 * churn_p
    churn_day = created_day.clip(0) + rng.exponential(1.0, n) / np.maximum(hazard, 1e-9)
    events = _Events()
    cumulative_topics = interests.cumsum(axis=1)
    engaged_per_day = np.zeros((total, n), np.int32)
    activity_sum = np.zeros(n)
    purchased_per_day = np.zeros((total, n), bool)
    for day in range(total):
        alive = created_day <= day
        until_churn = churn_day - day
        fade = np.clip(until_churn / FADE_DAYS, 0.15, 1.0)
        activity = np.where(until_churn > 0, fade, 0.01) * alive
        if day >= spec.days:
            activity_sum += activity
        base = day * 86400

        def local_seconds(hours, contacts, base=base):
            return base + ((hours - offsets[contacts]) % 24) * 3600 + rng.integers(0, 3600, len(contacts))

        def topics_of(contacts):
            return (rng.random(len(contacts))[:, None] > cumulative_topics[contacts]).sum(axis=1).clip(0, 5)

        if day % SEND_EVERY_DAYS == 0:
            sent = np.flatnonzero(alive)
            send_seconds = base + ((SEND_HOUR_LOCAL - offsets[sent]) % 24) * 3600
            events.add(sent, SENT, send_seconds, np.zeros(len(sent)))
            bots = sent[scanner[sent]]
            events.add(bots, OPENED, base + ((SEND_HOUR_LOCAL - offsets[bots]) % 24) * 3600 + 30,
                       np.zeros(len(bots)), bot=True)
            p_open = np.clip((0.1 + 0.7 * engagement[sent]) * activity[sent], 0, 0.95)
            opened = sent[rng.random(len(sent)) < p_open]
            jitter = rng.normal(0, 1.0, len(opened)).round().astype(int)
            hours = np.maximum(preferred[opened] + jitter, SEND_HOUR_LOCAL)  # opened after it arrived
            events.add(opened, OPENED, local_seconds(hours, opened), np.zeros(len(opened)))
            clicked = opened[rng.random(len(opened)) < 0.3]
            events.add(clicked, CLICKED, local_seconds(np.maximum(preferred[clicked], SEND_HOUR_LOCAL), clicked),
                       topics_of(clicked))
            engaged_per_day[day, opened] += 1
            engaged_per_day[day, clicked] += 1
        views = rng.poisson(0.35 * engagement * activity)
        viewers = np.repeat(np.arange(n), views)
        hours = (preferred[viewers] + rng.normal(0, 1.5, len(viewers)).round().astype(int)) % 24
        events.add(viewers, VIEWED, local_seconds(hours, viewers), topics_of(viewers))
        # Pricing-page visits (topic code -1) show intent: they follow the conversion propensity.
        pricing = np.flatnonzero(rng.random(n) < 0.6 * conversion_p * activity)
        events.add(pricing, VIEWED, local_seconds(preferred[pricing], pricing), np.full(len(pricing), -1))
        buyers = np.flatnonzero(rng.random(n) < 0.03 * conversion_p * activity)
        events.add(buyers, PURCHASED, local_seconds(preferred[buyers], buyers), topics_of(buyers))
        np.add.at(engaged_per_day[day], viewers, 1)
        engaged_per_day[day, pricing] += 1
        engaged_per_day[day, buyers] += 1
        purchased_per_day[day, buyers] = True
    contact, code, second, topic, bot = events.arrays()
    past = second < spec.days * 86400
    before = engaged_per_day[spec.days - 28:spec.days].sum(axis=0)
    after = engaged_per_day[spec.days:].sum(axis=0)
    exists = created_day < spec.days
    churns = (before > 0) & (after == 0) & exists
    converts = purchased_per_day[spec.days:].any(axis=0) & exists
    decays = (before >= 2) & (after * 28 / max(spec.horizon_days, 1) < 0.5 * before) & exists
    expected_purchases = 0.03 * conversion_p * activity_sum
    ids = _contact_ids(spec.seed, n)
    top_topics = np.argsort(-interests, axis=1)[:, :2]
    truth = {
        ids[i]: ContactTruth(
            churn_propensity=float(churn_p[i]), conversion_propensity=float(conversion_p[i]),
            engagement=float(engagement[i]), preferred_hour=int(preferred[i]), timezone=TIMEZONES[zone[i]],
            topics=tuple(TOPICS[t] for t in top_topics[i]), churn_day=float(churn_day[i]),
            churns_in_horizon=bool(churns[i]), converts_in_horizon=bool(converts[i]),
            decays_in_horizon=bool(decays[i]), engaged_before=int(before[i]),
            expected_purchases=float(expected_purchases[i]),
        )
        for i in range(n)
    }
    return Simulation(
        spec=spec, now=now, contact_ids=ids, emails=[f"synthetic{spec.seed}-{i}@example.test" for i in range(n)],
        created_day=created_day, truth=truth, event_contact=contact[past], event_type=code[past],
        event_second=second[past], event_topic=topic[past], event_bot=bot[past],
    )


def _properties(code: int, topic: int) -> str:
    if code in (CLICKED, VIEWED):
        page = "pricing" if topic < 0 else f"{TOPICS[topic]}/article"
        return msgspec.json.encode({"url": f"https://shop.example.test/{page}"}).decode()
    if code == PURCHASED:
        return msgspec.json.encode({"topic": TOPICS[max(topic, 0)]}).decode()
    return "{}"


def synthetic_workspace_write(*, workspace, simulation: Simulation, batch_size: int = 200_000) -> int:
    """Write the simulation's contacts and events into the workspace (COPY, in batches); return the events written.

    Events are written as already processed: they are history, not news for the runtime.
    """
    start = simulation.start
    workspace_id = workspace.pk
    contacts_copy = ("COPY contacts_contact (id, workspace_id, created_at, updated_at, email, first_name, last_name, "
                     "timezone, status, score, fields, tags) FROM STDIN")
    with transaction.atomic(), connection.cursor() as cursor, cursor.copy(contacts_copy) as copy:
        for i, contact_id in enumerate(simulation.contact_ids):
            created = min(start + timedelta(days=int(simulation.created_day[i])), simulation.now)
            zone = simulation.truth[contact_id].timezone
            copy.write_row((contact_id, workspace_id, created, created, simulation.emails[i], "Synthetic",
                            str(i), zone, "subscribed", 0, "{}", "{}"))
    properties = {(code, topic): _properties(code, topic)
                  for code in range(5) for topic in range(-1, len(TOPICS))}
    ids = simulation.contact_ids
    order = np.argsort(simulation.event_second, kind="stable")
    events_copy = ("COPY events_event (workspace_id, contact_id, type, occurred_at, received_at, properties, source, "
                   "flags, processed_at, attempts) FROM STDIN")
    written = 0
    for begin in range(0, len(order), batch_size):
        chunk = order[begin:begin + batch_size]
        with transaction.atomic(), connection.cursor() as cursor, cursor.copy(events_copy) as copy:
            for index in chunk:
                at = start + timedelta(seconds=int(simulation.event_second[index]))
                code = int(simulation.event_type[index])
                copy.write_row((workspace_id, ids[simulation.event_contact[index]], TYPE_NAMES[code], at, at,
                                properties[code, int(simulation.event_topic[index])], "api",
                                '{"bot": true}' if simulation.event_bot[index] else "{}", at, 0))
        written += len(chunk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE events_event")
    return written


def synthetic_workspace_create(*, workspace, spec: SyntheticSpec, now: datetime | None = None) -> Simulation:
    """Simulate `spec` up to `now` (default: the current hour) and write it into `workspace`; return the
    simulation, whose `truth` holds each contact's hidden propensities and what happens after `now`."""
    now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    simulation = simulate(spec, now=now)
    synthetic_workspace_write(workspace=workspace, simulation=simulation)
    return simulation
