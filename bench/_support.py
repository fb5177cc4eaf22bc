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
