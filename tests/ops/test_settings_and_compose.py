from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from penguinflow.settings.base import env_bool

ROOT = Path(__file__).resolve().parents[2]


def _check_with(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}}
    env.update({"DJANGO_SETTINGS_MODULE": "penguinflow.settings.base", **env_overrides})
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)


def test_production_refuses_to_start_without_required_variables():
    result = _check_with({"DEBUG": "false"})
    assert result.returncode != 0
    assert "DATABASE_URL, REDIS_URL, SECRET_KEY" in result.stderr


def test_production_check_deploy_is_clean_with_required_variables():
    env = {
        "DEBUG": "false",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/penguinflow"),
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SECRET_KEY": "x" * 64 + "-a-long-and-random-production-secret",
        "ALLOWED_HOSTS": "penguinflow.example",
    }
    result = _check_with(env)
    assert result.returncode == 0, result.stderr
    env_all = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}}
    deploy = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**env_all, "DJANGO_SETTINGS_MODULE": "penguinflow.settings.base", **env},
        capture_output=True, text=True,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr


def test_non_postgres_database_is_refused():
    result = _check_with({"DATABASE_URL": "sqlite:///tmp/x.db"})
    assert result.returncode != 0
    assert "PostgreSQL only" in result.stderr


def test_docker_compose_declares_the_whole_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "web", "worker", "scheduler"}
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert "penguinflow.asgi:application" in " ".join(services["web"]["command"])
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
    assert "penguinflow.common.workers.Worker" in " ".join(services["worker"]["command"])  # non-forking
    assert "run_scheduler" in services["scheduler"]["command"]


def test_docker_compose_scale_profile_runs_copies_and_a_replica_the_web_reads_history_from():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    scale = {name for name, service in services.items() if "scale" in service.get("profiles", [])}
    assert scale == {"postgres-replica", "web-scale", "balancer", "worker-engine", "worker-events",
                     "worker-delivery", "scheduler-scale"}
    # Without the profile, `docker compose up` is the single-machine stack it was.
    assert not any(services[name].get("profiles") for name in ("postgres", "redis", "migrate", "web", "worker",
                                                               "scheduler"))
    assert services["web-scale"]["deploy"]["replicas"] >= 2
    queues = {name: services[name]["command"][3:services[name]["command"].index("--worker-class")]
              for name in ("worker-engine", "worker-events", "worker-delivery")}
    assert queues["worker-engine"] == ["engine"] and queues["worker-events"] == ["events"]
    for name, service in services.items():  # every worker closes a connection PostgreSQL dropped, between jobs
        if "rqworker" in service.get("command", []):
            command = service["command"]
            assert command[command.index("--worker-class") + 1] == "penguinflow.common.workers.Worker", name
    # Between them they work every queue the single worker works.
    every_queue = [queue for names in queues.values() for queue in names]
    assert sorted(every_queue) == sorted(services["worker"]["command"][3:10])
    assert all(services[name]["deploy"]["replicas"] >= 2 for name in ("worker-engine", "worker-events"))
    assert services["scheduler-scale"]["command"] == services["scheduler"]["command"]

    replica = services["postgres-replica"]
    script = " ".join(replica["command"])
    assert "pg_basebackup -h postgres " in script and " -R " in script and "hot_standby=on" in script
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pgreplica:/var/lib/postgresql/data" in replica["volumes"]
    # The primary lets the replica's role stream (its init script), with the password the replica uses.
    init = compose["configs"][services["postgres"]["configs"][0]["source"]]["content"]
    assert "WITH REPLICATION LOGIN" in init and "host replication replicator" in init

    web = services["web-scale"]
    replica_url = urlsplit(web["environment"]["DATABASE_REPLICA_URL"])
    assert replica_url.scheme == "postgres" and replica_url.hostname == "postgres-replica"
    assert web["environment"]["DATABASE_URL"] == services["web"]["environment"]["DATABASE_URL"]
    assert web["depends_on"]["postgres-replica"]["condition"] == "service_healthy"
    assert "DATABASE_REPLICA_URL" not in services["worker-engine"]["environment"]
    balancer = compose["configs"][services["balancer"]["configs"][0]["source"]]["content"]
    assert "server web-scale:8000" in balancer and "Upgrade" in balancer


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    head = readme[:2500]
    assert "make run" in head and "make test" in head
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("TRUE", True), (" Yes ", True), ("on", True),
     ("0", False), ("false", False), ("False", False), ("NO", False), (" off", False)],
)
def test_env_bool_reads_the_yes_no_words_in_any_case(monkeypatch, raw, expected):
    monkeypatch.setenv("PENGUINFLOW_TEST_FLAG", raw)
    assert env_bool("PENGUINFLOW_TEST_FLAG", not expected) is expected


def test_env_bool_gives_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("PENGUINFLOW_TEST_FLAG", raising=False)
    assert env_bool("PENGUINFLOW_TEST_FLAG", True) is True
    assert env_bool("PENGUINFLOW_TEST_FLAG", False) is False


@pytest.mark.parametrize("raw", ["flase", "2", "y", "enabled", "", "  "])
def test_env_bool_refuses_what_it_does_not_know_naming_the_variable_and_the_words(monkeypatch, raw):
    monkeypatch.setenv("PENGUINFLOW_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_bool("PENGUINFLOW_TEST_FLAG", True)
    message = str(refused.value)
    assert message.startswith(f"PENGUINFLOW_TEST_FLAG={raw!r} ")
    for word in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        assert word in message


def test_start_up_stops_on_a_misspelt_debug():
    result = _check_with({"DEBUG": "flase"})
    assert result.returncode != 0
    assert "DEBUG='flase' is not a yes/no value" in result.stderr


def test_the_image_builds_the_visual_builder_from_the_lock_file():
    # Without a Node stage the image answered 503 at /builder/ (the build is never committed).
    stages = (ROOT / "Dockerfile").read_text().split("\nFROM ")
    node = next(stage for stage in stages if stage.startswith("node:20"))
    assert "npm ci" in node and "npm run build" in node and "api-types" in node
    final = stages[-1]
    assert "COPY --from=builder /app/static/builder ./static/builder" in final
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"frontend/node_modules", "static/builder", ".venv"} <= set(ignored)
