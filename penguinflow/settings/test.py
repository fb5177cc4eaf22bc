"""Test overrides: the real PostgreSQL and Redis, fast password hashing, a separate Redis database."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

# Tests never touch Redis database 0 (a running PenguinFlow's); each run picks one of 1-15 by its pid, so that
# runs on the same machine rarely share queues. Processes a test starts inherit the choice.
_redis_db = os.environ.setdefault("PENGUINFLOW_TEST_REDIS_DB", str(1 + os.getpid() % 15))
# The parallel workers of one run (pytest-xdist: gw0, gw1, ...) inherit the run's choice; each moves to a database
# of its own, since tests empty and flush their queues. Once: the processes a worker starts inherit the marker.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("PENGUINFLOW_TEST_REDIS_WORKER") != _worker:
    _redis_db = str(1 + (int(_redis_db) - 1 + int(_worker[2:])) % 15)
    os.environ.update(PENGUINFLOW_TEST_REDIS_DB=_redis_db, PENGUINFLOW_TEST_REDIS_WORKER=_worker)
_redis = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
os.environ["REDIS_URL"] = urlunsplit(_redis._replace(path=f"/{_redis_db}"))

from .base import *  # noqa: E402,F403
from .base import REDIS_URL  # noqa: E402

# One test database per test run, so that runs on the same machine (developers, CI, a bench) never collide.
DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405

# A test's rows are in its own open transaction, which a replica connection cannot see: the tests run on "default"
# alone, even where DATABASE_REPLICA_URL is set, except the processes tests/history/test_read_replica.py starts on
# a primary and replica of its own.
if os.environ.get("PENGUINFLOW_TEST_KEEP_REPLICA") != "1":
    DATABASES.pop("replica", None)  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_URL = os.environ.get("TEST_EMAIL_URL", "console://")
globals().update(email_settings_from_url(EMAIL_URL))  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = f"pf-test-{os.getpid()}"  # noqa: F405
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in RQ_QUEUES}  # noqa: F405
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
LIVE_UPDATES_PUBLISH = "inline"  # the consumers under test run on the test's event loop
LOGGING["root"]["level"] = os.environ.get("LOG_LEVEL", "WARNING")  # noqa: F405
WHITENOISE_AUTOREFRESH = True  # no collected static files in tests
