"""The plans PostgreSQL ran: `auto_explain` on the test's own connection, its plans sent back as notices.

For the few statements whose plan is the feature (a queue's claim must walk its index and stop at its LIMIT):
the test runs the code itself, not a copy of its SQL, so a change to either the statement or the settings it runs
under shows up here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def executed_plans() -> Iterator[list[str]]:
    """Collect the plan (text format, with its query text) of every statement run on Django's connection inside."""
    plans: list[str] = []

    def keep(diagnostic) -> None:
        if "plan:" in (diagnostic.message_primary or ""):
            plans.append(diagnostic.message_primary)

    connection.ensure_connection()
    raw = connection.connection
    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_min_duration = 0")
        cursor.execute("SET auto_explain.log_level = notice")
    raw.add_notice_handler(keep)
    try:
        yield plans
    finally:
        raw.remove_notice_handler(keep)
        with connection.cursor() as cursor:
            cursor.execute("SET auto_explain.log_min_duration = -1")


def plan_of(plans: list[str], marker: str) -> str:
    """The one plan whose query text holds `marker`."""
    found = [plan for plan in plans if marker in plan]
    assert len(found) == 1, f"{len(found)} plans hold {marker!r} among {len(plans)}"
    return found[0]
