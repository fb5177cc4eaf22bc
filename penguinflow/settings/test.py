"""Test overrides: the real PostgreSQL and Redis, fast password hashing, a separate Redis database."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from . import redis_for_tests

# Each test process uses a Redis database no other live test process holds (redis_for_tests.py says why and how).
_redis = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
_redis_db = redis_for_tests.database_of_this_process(urlunsplit(_redis._replace(path="")), os.environ)
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
