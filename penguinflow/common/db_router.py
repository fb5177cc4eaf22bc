"""Reads of the read-only screens (history, analytics, exports) on a PostgreSQL streaming replica, when one is set.

Nothing goes to the replica unless a view asks for it with `reads_from_replica(request)` (or the `replica_reads`
decorator): the engine, the scheduler and every write path read what they are about to change, and a replica's
copy may be a moment behind, so routing every read there would let a read-modify-write act on stale rows.

The replica is skipped (the primary answers) when:
- no replica is configured (`DATABASE_REPLICA_URL` unset: everything on "default", as before);
- the request's session wrote something a moment ago (`READ_YOUR_WRITES_SECONDS`, a cookie set by
  `ReadYourWritesMiddleware`): a retried execution must show as retried on the next screen, not as failed;
  or, for a request made with an API key, that key did (a mark in the cache: integrations rarely keep cookies);
- the replica is more than `DATABASE_REPLICA_MAX_LAG` seconds behind, or does not answer (then it is left alone
  for `_REPLICA_DOWN_PAUSE` seconds, so that each screen does not wait on it again).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA_ALIAS = "replica"
PRIMARY_READS_COOKIE = "pf_primary_reads"
_REPLICA_DOWN_PAUSE = 30.0

logger = logging.getLogger(__name__)

# The alias the current request's reads go to; a context variable, so that it follows a request into
# sync_to_async threads and never leaks into another request's thread.
_read_alias: ContextVar[str | None] = ContextVar("penguinflow_read_alias", default=None)
_replica_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA_ALIAS in settings.DATABASES


class ReplicaRouter:
    """Send reads to the alias chosen by `reads_from_replica`, every write and every migration to the primary."""

    def db_for_read(self, model, **hints):
        return _read_alias.get()

    def db_for_write(self, model, **hints):
        # Explicitly the primary: a row read from the replica and then saved must not be written back there.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same database.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A hot standby is read-only and replays the primary's schema changes by itself.
        return db != REPLICA_ALIAS


@contextmanager
def reads_from_replica(request=None) -> Iterator[str]:
    """Read from the replica inside the block, if it may serve `request`; yield the alias reads go to.

    Only for code that changes nothing it reads: what the block reads may be up to DATABASE_REPLICA_MAX_LAG
    seconds old. Writes inside the block still go to the primary.
    """
    alias = REPLICA_ALIAS if _replica_may_serve(request) else DEFAULT_DB_ALIAS
    token = _read_alias.set(alias)
    try:
        yield alias
    finally:
        _read_alias.reset(token)


def replica_reads(view_method):
    """Decorate a view method (`def list(self, request, ...)`) to run it inside `reads_from_replica(request)`.

    The view must evaluate its querysets before it returns (a streamed response pins its queryset with
    `.using(queryset.db)` first): the block ends when the method returns.
    """

    @functools.wraps(view_method)
    def read_from_replica(self, request, *args, **kwargs):
        with reads_from_replica(request):
            return view_method(self, request, *args, **kwargs)

    return read_from_replica


def _replica_may_serve(request) -> bool:
    if not replica_configured() or time.monotonic() < _replica_down_until:
        return False
    if request is not None and _wrote_recently(request):
        return False
    lag = replica_lag_seconds()
    return lag is not None and lag <= settings.DATABASE_REPLICA_MAX_LAG


def _wrote_recently(request) -> bool:
    # The cookie holds the time until which this session reads the primary: checked here, as a client that ignores
    # Max-Age would otherwise read the primary for ever. A forged value only costs its sender the replica.
    try:
        if float(request.COOKIES.get(PRIMARY_READS_COOKIE, "0")) > time.time():
            return True
    except ValueError:
        pass
    key_id = _api_key_id(request)
    return key_id is not None and cache.get(_primary_reads_key(key_id)) is not None


def _api_key_id(request) -> str | None:
    """The id of the API key the request was authenticated with (DRF puts the principal in `auth`), if any."""
    key_id = getattr(getattr(request, "auth", None), "key_id", None)
    return str(key_id) if key_id is not None else None


def _primary_reads_key(key_id: str) -> str:
    return f"primary-reads:api-key:{key_id}"


def replica_lag_seconds() -> float | None:
    """How far behind the primary the replica's data is, in seconds; None when the replica cannot say or answer.

    A replica that has replayed all it received is not behind, however old its last replayed commit is (an idle
    primary sends nothing to replay); otherwise the age of its last replayed commit is the lag.
    """
    global _replica_down_until
    try:
        with connections[REPLICA_ALIAS].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), "
                "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8")
            in_recovery, caught_up, age = cursor.fetchone()
    except DatabaseError:
        logger.warning("The read replica does not answer: reads go to the primary for %.0f s", _REPLICA_DOWN_PAUSE,
                       exc_info=True)
        _replica_down_until = time.monotonic() + _REPLICA_DOWN_PAUSE
        return None
    if not in_recovery or caught_up:
        return 0.0  # a promoted replica is a primary: nothing to be behind
    return age


class ReadYourWritesMiddleware:
    """After a request that changed something, the same browser (or API key) reads from the primary for a few
    seconds.

    Set on every successful unsafe request (a retry, a bulk cancel, a publish): the screen the user looks at next
    must show what they just did, which the replica may not have replayed yet. A browser gets a cookie; an API key
    a mark in the cache, shared by every process, since an integration that cancels then lists rarely keeps cookies.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (replica_configured() and request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
                and response.status_code < 400):
            seconds = settings.READ_YOUR_WRITES_SECONDS
            key_id = _api_key_id(request)
            if key_id is not None:
                cache.set(_primary_reads_key(key_id), 1, timeout=seconds)
            response.set_cookie(PRIMARY_READS_COOKIE, f"{time.time() + seconds:.3f}", max_age=seconds,
                                httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        return response
