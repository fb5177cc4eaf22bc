"""`make run` (scripts/dev.py run) on a taken port stops at once with one message, before it migrates or prints."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _dev_script():
    spec = importlib.util.spec_from_file_location("penguinflow_dev_script", ROOT / "scripts" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def listening():
    """A real server socket on a free port of 127.0.0.1, as another `make run` would hold it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _service_urls(settings_dict) -> dict[str, str]:
    host, port = settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    return {
        "DATABASE_URL": f"postgres://{settings_dict['USER']}@{host}:{port}/{settings_dict['NAME']}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    }


def test_make_run_on_a_taken_port_exits_with_one_message_and_prints_nothing_else(listening, django_db_setup):
    from django.db import connection

    env = {**os.environ, **_service_urls(connection.settings_dict), "HOST": "127.0.0.1", "PORT": str(listening)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "dev.py"), "run"], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=120)  # a safety net only: it exits before anything slow
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # it went on to migrate and start the stack: the defect
        out, err = process.communicate()
        pytest.fail(f"`dev.py run` did not stop on a taken port:\n{out[-2000:]}\n{err[-2000:]}")

    assert process.returncode == 1
    assert out == ""  # no URL, no demo key, no "migrating"
    assert err.count("\n") == 1
    assert f"127.0.0.1:{listening} is already in use" in err
    assert "PORT=" in err and "make run" in err
    assert "http://" not in err and "Traceback" not in err


def test_port_problem_names_the_variable_to_change(listening):
    dev = _dev_script()

    assert "PORT=" in dev.port_problem("127.0.0.1", str(listening))
    assert dev.port_problem("127.0.0.1", "80x").startswith("PORT='80x' is not a port number")
    assert dev.port_problem("127.0.0.1", "70000").startswith("PORT='70000' is not a port number")
    # 192.0.2.1 (TEST-NET-1) is no address of this machine.
    assert dev.port_problem("192.0.2.1", "8000").startswith("cannot listen on 192.0.2.1:8000: ")
    assert "HOST=" in dev.port_problem("192.0.2.1", "8000")


def test_port_problem_suggests_a_free_port_and_accepts_one(listening):
    dev = _dev_script()
    message = dev.port_problem("127.0.0.1", str(listening))
    suggested = message.split("PORT=")[1].split()[0]

    assert suggested.isdigit() and suggested != str(listening)
    assert dev.port_problem("127.0.0.1", suggested) is None
