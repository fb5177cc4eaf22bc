"""Small simulators with a known truth for `bench optimize`: contacts with hidden reading hours, and split variants
with hidden goal rates. Plain Python; every run is seeded.

The reading model (the truth the send-time model has to find): each contact has a preferred local hour (mornings,
lunch or evenings, as people read mail) and a weaker second one, shifted later on weekends. A message that arrives
at local hour h is opened with probability `base * (FLOOR + (1 - FLOOR) * best activity in the next 3 hours)`:
a message that lands while the contact is about to read sits on top of the inbox; one that lands hours before is
buried under later mail. When opened, the open happens at the first hour the contact reads after the arrival
(drawn by their activity), so the open times carry their habits, whatever the send time. A share of contacts use
Apple Mail Privacy Protection: every message they get also produces a machine open at arrival, which the
recorder flags (the model must leave those out).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from workflows.engine.send_time import HOURS_OF_WEEK, EngagementHours, choose_send_time, hour_of_week

ZONES = [ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")]
FLOOR = 0.35  # a buried message still gets opened at this fraction of the best rate
MACHINE_SHARE = 0.3
CLICK_SHARE = 0.25
START = datetime(2026, 9, 7, 4, 0, tzinfo=UTC)  # a Monday
SEND_DAYS = (0, 2, 4)  # Monday, Wednesday, Friday: three messages a week


@dataclass
class Contact:
    tz: ZoneInfo
    activity: list[float]  # by local hour of week, 0..1
    base: float
    machine: bool
    counts: Counter = field(default_factory=Counter)  # what the recorder kept: hour of week -> engagements


def _peak(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.3:
        return rng.uniform(6.5, 9)
    if roll < 0.5:
        return rng.uniform(12, 14)
    return rng.uniform(18, 22.5)


def _activity(first: float, second: float) -> list[float]:
    def near(hour: float, peak: float, width: float = 1.1) -> float:
        distance = min(abs(hour - peak), 24 - abs(hour - peak))
        return math.exp(-(distance**2) / (2 * width**2))

    weekly = []
    for hour in range(HOURS_OF_WEEK):
        day, clock = divmod(hour, 24)
        shift = 2.0 if day >= 5 else 0.0  # weekends: later
        weekly.append(max(near(clock + 0.5, first + shift), 0.5 * near(clock + 0.5, second + shift)))
    return weekly


def population(size: int, seed: int) -> list[Contact]:
    rng = random.Random(seed)
    return [
        Contact(
            tz=rng.choice(ZONES),
            activity=_activity(_peak(rng), _peak(rng)),
            base=rng.uniform(0.3, 0.7),
            machine=rng.random() < MACHINE_SHARE,
        )
        for _ in range(size)
    ]


def open_chance(contact: Contact, at: datetime) -> float:
    hour = hour_of_week(at, contact.tz)
    soon = max(contact.activity[(hour + k) % HOURS_OF_WEEK] for k in range(3))
    return contact.base * (FLOOR + (1 - FLOOR) * soon)


def open_hour(contact: Contact, at: datetime, rng: random.Random) -> int:
    """The local hour of week the contact opens a message that arrived at ``at`` (their next reading hour)."""
    hour = hour_of_week(at, contact.tz)
    weights = [contact.activity[(hour + k) % HOURS_OF_WEEK] * 0.85**k for k in range(24)]
    return (hour + rng.choices(range(24), weights)[0]) % HOURS_OF_WEEK


def _ten_local(day: datetime, tz: ZoneInfo) -> datetime:
    local = day.astimezone(tz)
    return datetime(local.year, local.month, local.day, 10, 0, tzinfo=tz).astimezone(UTC)


@dataclass
class Arm:
    name: str
    opens_by_week: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    sent_by_week: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def rate(self, weeks: slice = slice(None)) -> float:
        sent = sum(self.sent_by_week[weeks])
        return sum(self.opens_by_week[weeks]) / sent if sent else 0.0


def simulate(
    contacts: list[Contact], *, policy: str, seed: int, count_machine_opens: bool = False, weeks: int = 4
) -> Arm:
    """Send three messages a week to every contact for ``weeks`` and count human opens.

    ``policy``: "fixed" (10:00 local), "optimal" (send-time optimization within 24 h of a 04:00 UTC trigger),
    "workspace" (the same, but with no per-contact counts: the workspace's distribution only).
    """
    rng = random.Random(seed)
    choose_rng = random.Random(seed + 1)
    arm = Arm(policy)
    workspace = [0] * HOURS_OF_WEEK
    for contact in contacts:
        contact.counts = Counter()
    for week in range(weeks):
        for weekday in SEND_DAYS:
            trigger = START + timedelta(days=7 * week + weekday)
            total = sum(workspace)
            snapshot = tuple(workspace)  # the day's evidence: processing updates it in batches, not mid-send
            for contact in contacts:
                if policy == "fixed":
                    at = _ten_local(trigger, contact.tz)
                else:
                    own = contact.counts if policy == "optimal" else {}
                    hours = EngagementHours(own, snapshot, contact.tz, total)
                    choice = choose_send_time(now=trigger, within=timedelta(hours=24), hours=hours, rng=choose_rng)
                    at = choice.at
                arm.sent_by_week[week] += 1
                if contact.machine and count_machine_opens:
                    _record(contact, workspace, hour_of_week(at, contact.tz))
                if rng.random() < open_chance(contact, at):
                    arm.opens_by_week[week] += 1
                    hour = open_hour(contact, at, rng)
                    _record(contact, workspace, hour)
                    if rng.random() < CLICK_SHARE:
                        _record(contact, workspace, hour)
    return arm


def _record(contact: Contact, workspace: list[int], hour: int) -> None:
    contact.counts[hour] += 1
    workspace[hour] += 1


# --- splits ---------------------------------------------------------------------------------------------------------


def split_regret(
    rates: dict[str, float], *, contacts: int, policy: str, seed: int, batch: int = 100,
    min_share: float = 0.05, confidence: float = 0.95,
) -> dict[str, float]:
    """Route ``contacts`` through a split whose variants convert at hidden ``rates``; return the cumulative expected
    regret (conversions lost against always taking the best variant), the allocation changes logged, and the
    contact at which a winner was declared (and whether it is the true best). The optimizing split sees the
    results a batch at a time, as the runtime's counters give them."""
    from workflows.engine.bandit import SplitState, allocation_changed, split_allocation, variant_for

    rng = random.Random(seed)
    variants = list(rates)
    best = max(rates.values())
    counts = {variant: [0, 0] for variant in variants}
    shares = {variant: 1 / len(variants) for variant in variants}
    logged = SplitState(counts={})
    winner: str | None = None
    declared_at = -1
    changes = 0
    regret = 0.0
    for index in range(contacts):
        if policy == "optimize" and index % batch == 0:
            state = SplitState({v: tuple(c) for v, c in counts.items()}, logged.shares, logged.winner,
                               logged.candidate, logged.candidate_entries)  # fmt: skip
            allocation = split_allocation(
                state, variants=variants, goal="goal", min_share=min_share, confidence=confidence
            )
            if allocation_changed(state, allocation):
                changes += 1
                logged = SplitState({}, allocation.shares, allocation.winner, allocation.candidate,
                                    allocation.candidate_entries)  # fmt: skip
            if allocation.winner and winner is None:
                winner, declared_at = allocation.winner, index
            shares = allocation.shares
        variant = variant_for(rng.random(), shares, variants)
        counts[variant][0] += 1
        counts[variant][1] += rng.random() < rates[variant]
        regret += best - rates[variant]
    true_best = max(variants, key=rates.__getitem__)
    return {
        "regret": regret,
        "changes": changes,
        "declared_at": declared_at,
        "winner_correct": float(winner == true_best) if winner else math.nan,
    }
