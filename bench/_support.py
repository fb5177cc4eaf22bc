"""What the bench scenarios share: the PostgreSQL server of the configured database, and scratch databases on it."""

from __future__ import annotations

import os
from typing import Any


def pg_params() -> dict[str, Any]:
    """Return psycopg connection parameters of the configured database's server (no database name)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return {"host": db["HOST"] or "127.0.0.1", "port": int(db["PORT"] or 5432), "user": db["USER"],
            "password": db.get("PASSWORD") or None}


def recreate_database(params: dict[str, Any], name: str) -> None:
    """Drop (forcibly) and create the scratch database `name`."""
    import psycopg

    with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def drop_database(params: dict[str, Any], name: str) -> None:
    """Drop the scratch database `name`, unless BENCH_KEEP_DB=1 asks to keep it for a look afterwards."""
    if os.environ.get("BENCH_KEEP_DB") == "1":
        return
    import psycopg

    with psycopg.connect(**params, dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def machine_cpu() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of the whole machine so far, from /proc/stat; (0, 0) when unknown."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def postgres_cpu() -> float:
    """Return the CPU seconds used so far by every `postgres` process this user can see (same machine only)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as stat:
                head, _, rest = stat.read().rpartition(")")
            if not head.endswith("(postgres"):
                continue
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    return total
