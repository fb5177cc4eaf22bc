"""What the bench scenarios share: the PostgreSQL server of the configured database, and scratch databases on it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


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


def bench_env(params: dict[str, Any], *, db_name: str, redis_db: int | str) -> dict[str, str]:
    """Return the environment of a bench's child processes: production settings on the scratch database
    `db_name` and Redis database `redis_db`."""
    auth = params["user"] + (f":{params['password']}" if params["password"] else "")
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "penguinflow.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": f"postgres://{auth}@{params['host']}:{params['port']}/{db_name}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    return env


def recreate_migrated(params: dict[str, Any], name: str, env: dict[str, str]) -> None:
    """Drop and create the scratch database `name`, then migrate it with the bench's environment `env`."""
    recreate_database(params, name)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], env=env, cwd=ROOT, check=True,
                   capture_output=True)


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


def _proc_stat(pid: int | str) -> tuple[str, list[str]] | None:
    """Return (command name, the fields after it) of /proc/<pid>/stat; None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            head, _, rest = stat.read().rpartition(")")
    except OSError:
        return None
    return head.partition("(")[2], rest.split()


def _cpu_seconds(fields: list[str]) -> float:
    """User + system CPU seconds of a /proc stat line's fields (after the command name)."""
    try:
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (ValueError, IndexError):
        return 0.0


def _all_stats() -> dict[int, tuple[str, list[str]]]:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _proc_stat(entry)) is not None:
            stats[int(entry)] = found
    return stats


def process_children(pid: int) -> list[int]:
    """Return the pids of a process's live children, from Linux /proc."""
    return [child for child, (_, fields) in _all_stats().items() if len(fields) > 1 and fields[1] == str(pid)]


def process_exited(pid: int) -> bool:
    """Whether a process has exited: reaped, or a zombie its parent has not reaped yet."""
    found = _proc_stat(pid)
    return found is None or found[1][:1] in (["Z"], ["X"])


def process_cpu(pid: int | None, *, descendants: bool = False) -> float:
    """Return the user + system CPU seconds used so far by a process (and, with `descendants`, by its live
    descendants too), from Linux /proc; 0 when unknown."""
    if pid is None:
        return 0.0
    if not descendants:
        found = _proc_stat(pid)
        return _cpu_seconds(found[1]) if found is not None else 0.0
    stats = _all_stats()
    children: dict[int, list[int]] = {}
    for one, (_, fields) in stats.items():
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(one)
    tree, index = [pid], 0
    while index < len(tree):
        tree += children.get(tree[index], [])
        index += 1
    return sum(_cpu_seconds(stats[one][1]) for one in tree if one in stats)


def postgres_cpu() -> float:
    """Return the CPU seconds used so far by every `postgres` process this user can see (same machine only)."""
    return sum(_cpu_seconds(fields) for name, fields in _all_stats().values() if name == "postgres")


def postgres_backends_cpu(db_name: str) -> dict[int, float]:
    """Return the CPU seconds used so far by each PostgreSQL backend connected to `db_name` (same machine only):
    a bench's own database work, without what others do on the server meanwhile."""
    found = {}
    for pid, (name, fields) in _all_stats().items():
        if name != "postgres":
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                title = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f" {db_name} " in title:
            found[pid] = _cpu_seconds(fields)
    return found


def python_speed_ms() -> float:
    """Milliseconds this machine takes, now, for a fixed piece of pure-Python work (5M loop steps; best of 3).

    Printed beside the figures: on a shared (virtual) machine the same code runs faster or slower from one hour
    to the next, and this says which it was.
    """
    import time

    best = float("inf")
    for _ in range(3):
        start, total = time.perf_counter(), 0
        for step in range(5_000_000):
            total += step
        best = min(best, time.perf_counter() - start)
    return best * 1000



def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port nobody listens on now (for a local server a bench starts)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Return the resident memory (VmRSS) of a process and its descendants, in MiB; 0 once it is gone."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


def session_cookie(username: str, *, workspace_id: str | None = None) -> str:
    """Return the `Cookie` header of a fresh session of user `username` (Django set up), choosing
    `workspace_id` as the session's workspace when given, as the workspace switcher does."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if workspace_id is not None:
        session["workspace_id"] = workspace_id
    session.save()
    return f"sessionid={session.session_key}"
