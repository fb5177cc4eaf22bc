"""What the analytics charts need beyond CONTRACT §5's totals: entries and goal conversions by day, and for each
split the chance that each variant is the best, all from counters (never a scan of enrollments or step runs).

The probability that a variant is best is Beta-Binomial: with a uniform prior, a variant with n entries and g goal
conversions has a conversion rate distributed Beta(1 + g, 1 + n - g). Two variants (the common A/B case) get the
closed form; three or more, `SAMPLES` joint draws (seeded, so a page shows the same figures twice) counting how
often each variant's draw is the highest. Sample sizes go with them: a
probability over a handful of entries says little, and the screen should say so.
"""

from __future__ import annotations

import math
import random
import re
from datetime import date, timedelta
from typing import Any

from penguinflow.common.errors import InvalidInput
from workflows.models import SplitAllocationChange, WorkflowDailyCounter, WorkflowVersion

SAMPLES = 4_000  # Monte Carlo draws, for splits of three variants or more
EXACT_UP_TO = 5_000  # conversions up to which two variants get the exact sum
DEFAULT_DAYS = 30
ALLOCATION_HISTORY = 20  # the allocation changes shown per optimizing split, newest first


def daily_series(*, versions, since: date, until: date) -> list[dict[str, Any]]:
    """`[{day, entries, goals}]` for each UTC day from `since` to `until` included (zeros where nothing happened)."""
    totals: dict[tuple[date, str], int] = {}
    rows = WorkflowDailyCounter.objects.filter(version__in=versions, day__gte=since, day__lte=until).values_list(
        "day", "key", "value")
    for day, key, value in rows:
        totals[(day, key)] = totals.get((day, key), 0) + value
    days = max(0, (until - since).days + 1)
    return [{"day": (since + timedelta(days=n)).isoformat(),
             "entries": totals.get((since + timedelta(days=n), "entries"), 0),
             "goals": totals.get((since + timedelta(days=n), "goals.reached"), 0)} for n in range(days)]


def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _beta_moments(a: float, b: float) -> tuple[float, float]:
    return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))


def _chance_greater(b_shape: tuple[int, int], a_shape: tuple[int, int]) -> float:
    """P(X_b > X_a) for X ~ Beta: exact (Evan Miller's sum, over the smaller first shape), or the normal
    approximation once both shapes are large (thousands of conversions: the two agree to 4 decimals)."""
    (alpha_b, beta_b), (alpha_a, beta_a) = b_shape, a_shape
    if alpha_b > alpha_a:
        return 1.0 - _chance_greater(a_shape, b_shape)
    if alpha_b > EXACT_UP_TO:
        (mean_a, var_a), (mean_b, var_b) = _beta_moments(alpha_a, beta_a), _beta_moments(alpha_b, beta_b)
        return 0.5 * math.erfc(-(mean_b - mean_a) / math.sqrt(2 * (var_a + var_b)))
    base = _lbeta(alpha_a, beta_a)
    total = sum(math.exp(_lbeta(alpha_a + i, beta_a + beta_b) - math.log(beta_b + i) - _lbeta(1 + i, beta_b) - base)
                for i in range(alpha_b))
    return min(1.0, max(0.0, total))


def probability_best(variants: dict[str, dict[str, int]], *, samples: int = SAMPLES, seed: int = 0) -> dict[str, float]:
    """The chance that each variant has the highest goal rate: closed form for two variants, Monte Carlo over the
    Beta posteriors (seeded) for more."""
    if not variants:
        return {}
    names = sorted(variants)
    shapes = []
    for name in names:
        entered = max(0, variants[name].get("entered", 0))
        reached = min(entered, max(0, variants[name].get("goal_reached", 0)))
        shapes.append((1 + reached, 1 + entered - reached))
    if len(names) == 1:
        return {names[0]: 1.0}
    if len(names) == 2:
        second = _chance_greater(shapes[1], shapes[0])
        return {names[0]: round(1 - second, 4), names[1]: round(second, 4)}
    draw = random.Random(seed).betavariate
    wins = dict.fromkeys(names, 0)
    for _ in range(samples):
        values = [draw(a, b) for a, b in shapes]
        wins[names[values.index(max(values))]] += 1
    return {name: round(wins[name] / samples, 4) for name in names}


def split_tests(splits: dict[str, dict[str, dict[str, int]]]) -> dict[str, dict[str, Any]]:
    """For each split node: its variants with entries, conversions, rate and probability of being best."""
    tests = {}
    for node_id, variants in splits.items():
        best = probability_best(variants)
        tests[node_id] = {
            "method": "exact" if len(variants) <= 2 else "monte_carlo",
            "samples": SAMPLES if len(variants) > 2 else 0,
            "variants": {
                name: {"entered": counts.get("entered", 0), "goal_reached": counts.get("goal_reached", 0),
                       "rate": round(counts.get("goal_reached", 0) / counts["entered"], 4)
                       if counts.get("entered") else 0.0,
                       "probability_best": best[name]}
                for name, counts in variants.items()
            },
        }
    return tests


def split_allocations(workflow) -> dict[str, dict[str, Any]]:
    """For each optimizing split of the workflow that has routed contacts: its allocation in force (shares, the
    chance each variant is best, the winner once declared, why) and its latest changes, newest first."""
    rows = SplitAllocationChange.objects.filter(workflow=workflow).order_by("-id").values(
        "node_id", "goal", "at", "shares", "probability_best", "winner", "reason")[:500]
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        change = {"at": row["at"].isoformat(), "goal": row["goal"], "shares": row["shares"],
                  "probability_best": row["probability_best"], "winner": row["winner"] or None,
                  "reason": row["reason"]}
        entry = found.setdefault(row["node_id"], {**change, "changes": []})
        if len(entry["changes"]) < ALLOCATION_HISTORY:
            entry["changes"].append(change)
    return found


def analytics_extras(*, workflow, version_number: int | None, since: date | None, until: date | None,
                     splits: dict, today: date) -> dict[str, Any]:
    """The time series (`since`..`until`, default the last 30 days) and the split tests of a workflow."""
    until = until or today
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    # No day before the workflow existed or after today has data: the zero-filled series stays within those, so
    # any range is answered (a range from year 1 is the workflow's whole life) and never longer than its age.
    since, until = max(since, workflow.created_at.date()), min(until, today)
    versions = WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False)
    if version_number is not None:
        versions = versions.filter(number=version_number)
    return {"series": {"since": since.isoformat(), "until": until.isoformat(),
                       "days": daily_series(versions=versions, since=since, until=until)},
            "split_tests": split_tests(splits), "split_allocations": split_allocations(workflow)}


def _day(value: str | None, name: str, errors: dict) -> date | None:
    if not value:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Must be a date: 2026-11-22."
        return None


ANALYTICS_PARAMETERS = ("version", "since", "until")


def analytics_range(params) -> tuple[date | None, date | None]:
    """The `since`/`until` days of the series from a query string; a 400 naming what is malformed, and any
    parameter it does not know or that is given twice (a misspelt `sinse` would silently show 30 days)."""
    errors: dict[str, str] = {}
    for name in params:
        if name not in ANALYTICS_PARAMETERS:
            errors[name] = f"Unknown parameter. Known: {', '.join(ANALYTICS_PARAMETERS)}."
        elif len(params.getlist(name)) > 1:
            errors[name] = "Give this parameter once."
    since, until = _day(params.get("since"), "since", errors), _day(params.get("until"), "until", errors)
    if errors:
        raise InvalidInput("The request is not valid.", details=errors)
    return since, until
