"""The history screens read from a PostgreSQL streaming replica when one is configured; nothing else does.

The end-to-end test starts a real primary and a real hot standby (pg_basebackup -R), pauses the standby's replay
and shows the screens answering with the standby's older state, while the browser that made the change, the
engine and a screen whose replica lags too much read the primary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.test import RequestFactory, override_settings

from penguinflow.common import db_router
from penguinflow.common.db_router import (
    PRIMARY_READS_COOKIE,
    ReadYourWritesMiddleware,
    ReplicaRouter,
    reads_from_replica,
)
from tests.chaos import wait_for
from tests.pg_clusters import PrimaryAndReplica, missing_binaries

ROOT = Path(__file__).resolve().parents[2]


def test_without_a_replica_the_screens_read_the_primary():
    with reads_from_replica(RequestFactory().get("/")) as alias:
        assert alias == DEFAULT_DB_ALIAS
        assert ReplicaRouter().db_for_read(None) == DEFAULT_DB_ALIAS
    assert ReplicaRouter().db_for_read(None) is None  # outside the block: Django's default choice


def test_writes_and_migrations_never_go_to_the_replica():
    router = ReplicaRouter()
    assert router.db_for_write(None) == DEFAULT_DB_ALIAS
    assert router.allow_migrate("replica", "workflows") is False
    assert router.allow_migrate("default", "workflows") is True


def test_without_a_replica_a_write_sets_no_cookie():
    from django.http import HttpResponse

    response = ReadYourWritesMiddleware(lambda request: HttpResponse())(RequestFactory().post("/"))
    assert PRIMARY_READS_COOKIE not in response.cookies


@override_settings(READ_YOUR_WRITES_SECONDS=15)
def test_a_successful_write_sends_the_browser_to_the_primary_and_a_refused_one_does_not(monkeypatch):
    from django.http import HttpResponse

    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    wrote = ReadYourWritesMiddleware(lambda request: HttpResponse(status=202))(RequestFactory().post("/"))
    refused = ReadYourWritesMiddleware(lambda request: HttpResponse(status=409))(RequestFactory().post("/"))
    read = ReadYourWritesMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    assert wrote.cookies[PRIMARY_READS_COOKIE]["max-age"] == 15
    assert PRIMARY_READS_COOKIE not in refused.cookies and PRIMARY_READS_COOKIE not in read.cookies


@override_settings(READ_YOUR_WRITES_SECONDS=15)
def test_a_write_with_an_api_key_sends_that_key_alone_to_the_primary(monkeypatch):
    """Per key, in the cache: an integration that cancels then lists keeps no cookie, and may be several processes."""
    from types import SimpleNamespace

    from django.http import HttpResponse

    monkeypatch.setattr(db_router, "replica_configured", lambda: True)

    def request(method: str, key_id: str):
        made = getattr(RequestFactory(), method)("/")
        made.auth = SimpleNamespace(key_id=key_id)  # what DRF's authentication leaves on the request
        return made

    writer, other = f"writer-{os.getpid()}", f"other-{os.getpid()}"
    ReadYourWritesMiddleware(lambda made: HttpResponse(status=409))(request("post", writer))
    assert not db_router._wrote_recently(request("get", writer))  # a refused write changed nothing
    ReadYourWritesMiddleware(lambda made: HttpResponse(status=200))(request("post", writer))
    assert db_router._wrote_recently(request("get", writer))
    assert not db_router._wrote_recently(request("get", other))
    assert not db_router._wrote_recently(RequestFactory().get("/"))  # no key, no cookie
    browser = RequestFactory().get("/")
    browser.COOKIES[PRIMARY_READS_COOKIE] = f"{time.time() + 15:.3f}"
    assert db_router._wrote_recently(browser)


@pytest.fixture
def clusters():
    missing = missing_binaries()
    if missing:
        pytest.skip(f"PostgreSQL server binaries not found: {', '.join(missing)} (set PG_BIN)")
    pair = PrimaryAndReplica()
    try:
        yield pair
    finally:
        pair.close()


def _app(pair: PrimaryAndReplica, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run PenguinFlow's code in a process whose primary and replica are the test's clusters."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "penguinflow.settings.test",
                   "DATABASE_URL": pair.primary.url, "DATABASE_REPLICA_URL": pair.replica.url,
                   "PENGUINFLOW_TEST_KEEP_REPLICA": "1", **env}
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def _screens(pair: PrimaryAndReplica, step: str, *args: str, **env: str) -> dict:
    result = _app(pair, "-m", "tests.history.replica_app", step, *args, **env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _replayed_everything(pair: PrimaryAndReplica) -> None:
    lsn = pair.primary_lsn()
    wait_for(lambda: pair.replayed(lsn), what=f"the replica to replay up to {lsn}\n{pair.replica.log()}")


def test_history_screens_read_the_replica_and_a_writer_reads_its_write_on_the_primary(clusters):
    _app(clusters, "manage.py", "migrate", "--noinput")
    seeded = _screens(clusters, "seed")
    bob = seeded["bob"]
    _replayed_everything(clusters)
    clusters.replay_paused(True)
    wait_for(lambda: clusters.replay_state() == "paused", what="the replica's replay to pause")

    # Bob is cancelled on the primary; the replica, paused, still has him failed.
    seen = _screens(clusters, "read", json.dumps(seeded), DATABASE_REPLICA_MAX_LAG="86400")

    assert seen["replica_port"] == clusters.replica.port
    viewer = seen["viewer"]
    assert viewer["statuses"] == {seeded["ada"]: "failed", bob: "failed", seeded["carol"]: "completed"}
    assert viewer["replica_reads"] > 0
    assert seen["detail"] == {"status": "failed", "replica_reads": seen["detail"]["replica_reads"]}
    assert seen["detail"]["replica_reads"] > 0
    assert seen["export_bob_row"].split(",")[6] == "failed"
    assert seen["analytics"]["replica_reads"] > 0 and seen["timeline_replica_reads"] > 0
    assert (seen["analytics"]["enrollments"]["cancelled"], seen["actor_analytics"]["cancelled"]) == (0, 1)
    # The browser that cancelled reads the primary (read-your-writes), and so does the engine.
    assert seen["actor"] == {"statuses": {**viewer["statuses"], bob: "cancelled"}, "replica_reads": 0}
    assert seen["engine"] == {"status": "cancelled", "alias": "default"}
    # An integration that keeps no cookies reads its own write too (a mark on its API key); the viewer, on another
    # key, still reads the paused replica.
    assert seen["integration"] == {"statuses": {**seen["actor"]["statuses"], seeded["ada"]: "cancelled"},
                                   "replica_reads": 0}
    assert seen["viewer_after_integration"] == viewer
    # A replica further behind than DATABASE_REPLICA_MAX_LAG is passed over.
    assert seen["viewer_when_lagging"]["statuses"] == seen["integration"]["statuses"]
    assert seen["viewer_when_lagging"]["replica_reads"] == 0

    clusters.replay_paused(False)
    _replayed_everything(clusters)
    caught_up = _screens(clusters, "list", json.dumps(seeded))
    assert caught_up["statuses"][bob] == "cancelled" and caught_up["replica_reads"] > 0

    # A replica that stops answering is passed over: the screen is served from the primary.
    clusters.replica.stop()
    down = _screens(clusters, "down", json.dumps(seeded), DATABASE_POOL_TIMEOUT="2")
    assert down == {"status_code": 200, "statuses": caught_up["statuses"]}
