"""Send-time optimization and optimizing splits on synthetic truth (`bench._optimize_sim`), and what choosing a
send time costs. Plain Python on the engine's own code (no database). Prints:

- `optimize.open_rate_fixed_10h` / `optimize.open_rate_optimal` (week 4) and `optimize.open_rate_lift_pct` (goal
  >= 15 %): three messages a week for 4 weeks to a population with hidden reading hours; the fixed arm sends at
  10:00 local, the optimal arm within 24 h of the trigger at the slot send-time optimization draws. Also the lift
  with the workspace's distribution only (no per-contact model), and with machine opens wrongly counted.
- `optimize.split_regret_*`: cumulative expected regret over 10,000 contacts of a fixed 50/50 split and of an
  optimizing one (mean of several seeds), and `optimize.split_regret_reduction_pct` (goal >= 40 %), per scenario.
- `optimize.choose_send_time_us` p50 / p99 (goal < 200 us): one choice over the next 24 h with a delivery window,
  for a contact with a typical sparse history.

`--quick`: a smaller population and fewer seeds.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from bench._optimize_sim import population, simulate, split_regret
from workflows.engine.send_time import HOURS_OF_WEEK, EngagementHours, SendTimeRules, choose_send_time
from workflows.engine.timing import next_opening
from workflows.engine.types import parse_clock_time

SPLIT_SCENARIOS = {
    "10_vs_12_5": {"a": 0.10, "b": 0.125},
    "5_vs_6": {"a": 0.05, "b": 0.06},
    "three_variants": {"a": 0.10, "b": 0.12, "c": 0.08},
    # A/A: no variant is better. Regret is zero either way; what it shows is how often the stopping rule, looked
    # at after every batch, still names a "winner" (optional stopping: more often than 1 - confidence).
    "equal": {"a": 0.10, "b": 0.10},
}


def run(*, out: TextIO, quick: bool = False) -> None:
    send_time_figures(out, contacts=400 if quick else 3000)
    split_figures(out, seeds=4 if quick else 20)
    choice_cost(out, samples=2000 if quick else 20000)


def send_time_figures(out: TextIO, *, contacts: int) -> None:
    people = population(contacts, seed=11)
    fixed = simulate(people, policy="fixed", seed=5)
    optimal = simulate(people, policy="optimal", seed=5)
    workspace_only = simulate(people, policy="workspace", seed=5)
    machine = simulate(people, policy="optimal", seed=5, count_machine_opens=True)
    week4 = slice(3, 4)
    base = fixed.rate(week4)
    out.write(f"optimize.contacts {contacts}\n")
    out.write(f"optimize.open_rate_fixed_10h {base:.4f}\n")
    for name, arm in (("optimal", optimal), ("workspace_only", workspace_only), ("machine_opens_counted", machine)):
        rate = arm.rate(week4)
        out.write(f"optimize.open_rate_{name} {rate:.4f}\n")
        out.write(f"optimize.open_rate_lift_pct_{name} {100 * (rate / base - 1):.1f}\n")
    weekly = " ".join(f"{100 * (optimal.opens_by_week[w] / fixed.opens_by_week[w] - 1):.1f}" for w in range(4))
    out.write(f"optimize.open_rate_lift_pct_by_week {weekly}\n")
    out.write(f"optimize.open_rate_lift_pct {100 * (optimal.rate(week4) / base - 1):.1f}\n")


def split_figures(out: TextIO, *, seeds: int) -> None:
    for name, rates in SPLIT_SCENARIOS.items():
        fixed = [split_regret(rates, contacts=10_000, policy="fixed", seed=s)["regret"] for s in range(seeds)]
        runs = [split_regret(rates, contacts=10_000, policy="optimize", seed=s) for s in range(seeds)]
        optimized = [r["regret"] for r in runs]
        declared = [r["declared_at"] for r in runs if r["declared_at"] >= 0]
        correct = sum(r["winner_correct"] == 1.0 for r in runs)
        reduction = 100 * (1 - statistics.mean(optimized) / statistics.mean(fixed)) if any(fixed) else 0.0
        out.write(f"optimize.split_regret_fixed_{name} {statistics.mean(fixed):.1f}\n")
        out.write(f"optimize.split_regret_optimize_{name} {statistics.mean(optimized):.1f}\n")
        out.write(f"optimize.split_regret_reduction_pct_{name} {reduction:.1f}\n")
        out.write(f"optimize.split_allocation_changes_{name} {statistics.mean(r['changes'] for r in runs):.1f}\n")
        out.write(
            f"optimize.split_winner_{name} declared in {len(declared)}/{seeds} runs (median at contact "
            f"{int(statistics.median(declared)) if declared else '-'}), correct in {correct}\n"
        )


def choice_cost(out: TextIO, *, samples: int) -> None:
    rng = random.Random(3)
    paris = ZoneInfo("Europe/Paris")
    days, start, end = ["mon", "tue", "wed", "thu", "fri"], parse_clock_time("08:00"), parse_clock_time("21:00")
    rules = SendTimeRules(window=lambda m: next_opening(m, days=days, start=start, end=end, tz=paris))
    workspace = [rng.randint(0, 500) for _ in range(HOURS_OF_WEEK)]
    histories = [{rng.randrange(HOURS_OF_WEEK): rng.randint(1, 5) for _ in range(8)} for _ in range(100)]
    now = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    hours = [EngagementHours(history, workspace, paris, sum(workspace)) for history in histories]
    timings, batches, cpu = [], [], []
    for _batch in range(samples // 500):
        began_batch, began_cpu = time.perf_counter(), time.process_time()
        for index in range(500):
            began = time.perf_counter()
            choose_send_time(now=now + timedelta(minutes=index), within=timedelta(hours=24), hours=hours[index % 100],
                             rng=rng, rules=rules)  # fmt: skip
            timings.append((time.perf_counter() - began) * 1e6)
        batches.append((time.perf_counter() - began_batch) * 1e6 / 500)
        cpu.append((time.process_time() - began_cpu) * 1e6 / 500)
    timings.sort()
    # The batch figures (the median of 500-choice batches, per choice) are what a batch of sends pays, in wall
    # time and in CPU time; on a shared machine the wall times carry the waits for a core in their tail.
    out.write(f"optimize.choose_send_time_us p50 {timings[len(timings) // 2]:.0f} "
              f"p99 {timings[int(len(timings) * 0.99)]:.0f} per_choice_in_batches {statistics.median(batches):.0f} "
              f"cpu_per_choice {statistics.median(cpu):.0f}\n")  # fmt: skip
