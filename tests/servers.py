"""A real PenguinFlow web server (uvicorn, the production ASGI app) for tests that need another process.

It serves the test run's own database (committed data: use it from transactional tests) and Redis database.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{user}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


@contextlib.contextmanager
def asgi_server(*, extra_env: dict[str, str] | None = None, start_timeout: float = 120.0) -> Iterator[str]:
    """Run uvicorn on a free port and yield its base URL; stop it afterwards.

    Waits for the port to answer (a generous deadline: a loaded machine starts Django slowly), and fails early
    when the process exits.
    """
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "penguinflow.settings.base", "DATABASE_URL": _database_url(),
           "REDIS_URL": settings.REDIS_URL, "DEBUG": "1", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           **(extra_env or {})}
    # A file, not a pipe: a chatty server never blocks on a full pipe.
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "penguinflow.asgi:application", "--host", "127.0.0.1", "--port",
             str(port), "--log-level", "warning", "--lifespan", "on"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
        try:
            _wait_for_port(process, log, port, start_timeout)
            yield f"http://127.0.0.1:{port}"
        except BaseException:
            log.seek(0)
            sys.stderr.write(f"--- the web server's output ---\n{log.read()[-20000:]}\n")
            raise
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_port(process: subprocess.Popen, log, port: int, start_timeout: float) -> None:
    deadline = time.monotonic() + start_timeout
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the web server exited with {process.returncode}:\n{log.read()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the web server did not open its port")
        time.sleep(0.1)
