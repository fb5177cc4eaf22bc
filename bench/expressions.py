"""Benchmark of expressions (CONTRACT §7a): compilations and renderings per second on one core.

Prints figures (``name  value`` lines) and asserts nothing. Target: at least 20,000 compilations per second.
Every measured expression is distinct (its constants differ), so nothing learned from one input is reused for
another; only the parser and its grammar are built once, as a running server has them.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from workflows.engine.expressions import expression_compile, rule_render

__all__ = ["expressions", "run"]

# What marketers write: the examples and their neighbours, from one comparison to a few clauses.
_SHAPES = (
    'contact.fields.plan === "pro{i}" && contact.score >= {i}',
    'contact.tags.includes("vip{i}")',
    'event.properties.url.includes("/pricing/{i}")',
    "daysSince(contact.fields.trial_ends) > {i}",
    'eventCount("email.opened", "P{i}D") >= 2',
    'emailEvent({{event: "clicked", url_contains: "/demo/{i}", within: "P3D"}}) || inSegment("seg-{i}")',
    'contact.email.toLowerCase().endsWith("@acme{i}.com") && !contact.tags.includes("customer")',
    'contact.score >= {i} ? "hot" : contact.score >= 20 ? "warm" : "cold"',
    '(contact.fields.seats * 12 + {i}) % 7 === 0 || contact.fields["company size"] > {i}',
    '$some(contact.tags, $var("").startsWith("beta{i}")) && contact.status !== "unsubscribed"',
)


def expressions(count: int) -> list[str]:
    """Return ``count`` distinct expressions cycling through the realistic shapes."""
    return [_SHAPES[n % len(_SHAPES)].format(i=n) for n in range(count)]


def _timed(action, inputs: list) -> tuple[float, float]:
    """Return the calls per second of ``action`` over ``inputs``, of wall time and of this process's CPU time.

    Results are dropped as a server drops them: keeping 50,000 rules alive would time the garbage collector's
    walks over them too.
    """
    started, cpu = time.perf_counter(), time.process_time()
    for item in inputs:
        action(item)
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    return len(inputs) / wall, len(inputs) / max(used, 1e-9)


def run(*, out: TextIO, quick: bool = False) -> None:
    """Print the figures to ``out``: per second of wall time, and of CPU time (what one core does when the
    machine is shared with other work)."""
    sources = expressions(2_000 if quick else 50_000)
    compiles_per_s, compiles_per_cpu_s = _timed(expression_compile, sources)
    rules = [expression_compile(source) for source in sources]  # the inputs of rendering, outside its timing
    renders_per_s, renders_per_cpu_s = _timed(rule_render, rules)
    out.write(f"expressions.compile_per_s  {compiles_per_s:.0f}\n")
    out.write(f"expressions.compile_per_cpu_s  {compiles_per_cpu_s:.0f}\n")
    out.write(f"expressions.render_per_s  {renders_per_s:.0f}\n")
    out.write(f"expressions.render_per_cpu_s  {renders_per_cpu_s:.0f}\n")


if __name__ == "__main__":
    run(out=sys.stdout)
