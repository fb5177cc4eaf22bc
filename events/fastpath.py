"""The ASGI fast path of `POST /api/v1/events`: the same endpoint as the Django view, without Django's request
machinery in the way.

Why: under ASGI, Django runs a sync view (and sync-only middleware) through `sync_to_async(thread_sensitive=True)`,
so the requests of one server process run one at a time, each paying a thread hop; concurrency bought nothing.
This app sits in front of Django (`penguinflow.asgi`) and answers exactly `POST /api/v1/events` (and its
trailing-slash form) on the event loop: the body is read with the 5 MiB limit, the bearer key is checked against
`principal_for_key`'s in-process cache, the per-key rate is counted in Redis (redis.asyncio), the body is
validated by the pure `events.ingest.ingest_validate`, and the rows are written with an async psycopg pool using
the very SQL of the Django view. Everything else, GET /api/v1/events included, goes to Django untouched.

Requests that arrive together are served together: the small ones (up to `_COALESCE_MAX_ROWS` rows) that wait
while a statement runs share the next contact lookup, the next INSERT (one statement and one commit for many
single-event requests) and the next Redis round trip (INCRBY per key), and each still gets exactly the answer it
would have got alone: its own accepted/duplicates counts, its own position in the rate window.

What still hops to a thread, because it is rare: a key missing from the cache (`principal_for_key`, which fills
it), a cached key whose generation changed (a revocation somewhere), and a request that names unknown emails
(contacts are created by the sync `events.ingest.ingest_store`, at most two at once per workspace).

Parity with the Django view (`events.views.post_events`) is the rule: the checks and messages come from
`events.admission`, and tests drive both with the same requests. A request this app is not sure to answer like
Django (a Host outside ALLOWED_HOSTS, a plain-HTTP request that SECURE_SSL_REDIRECT would redirect, a mounted
root path) is passed to Django.

`POST /api/v1/track` (the website script's events, admitted by a public write key: `events.tracking`) is served
here too, for the same reason, with the same store; its checks come from `events.tracking`, and its preflight
(OPTIONS) goes to Django.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

import msgspec
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connections
from django.http.request import split_domain_port, validate_host
from django.utils import timezone

from events import tracking
from events.admission import (
    EVENTS_PATH,
    INVALID_KEY,
    Refusal,
    bearer_key,
    body_limit,
    body_size_refusal,
    content_length_refusal,
    content_type_refusal,
    scope_refusal,
    throttle_window,
    throttled,
)
from events.ingest import (
    ContactMatches,
    IngestResult,
    Prepared,
    attach_contacts,
    contact_lookup_sql,
    event_rows,
    ingest_result,
    ingest_store,
    ingest_validate,
    unknown_emails,
)
from events.services import EVENTS_INSERT_SQL, InsertRow, events_insert_params, events_insert_rows
from events.tracking import TRACK_PATH
from penguinflow.common.auth import (
    KEY_GENERATION,
    ApiKeyPrincipal,
    key_cache,
    key_digest,
    key_last_used_due,
    key_last_used_record,
    principal_for_key,
    principal_for_key_at,
)
from penguinflow.common.errors import InvalidInput, error_body

logger = logging.getLogger(__name__)

_PATHS = {EVENTS_PATH: EVENTS_PATH, EVENTS_PATH + "/": EVENTS_PATH, TRACK_PATH: TRACK_PATH,
          TRACK_PATH + "/": TRACK_PATH}
# Over-long bodies without a Content-Length are counted (not stored) up to this many times the limit, so that
# the 413 can say how big they were; beyond it the connection is closed.
_DRAIN_FACTOR = 4
# Requests with at most this many rows to write are written together with the other small requests that
# arrived meanwhile (one statement and one commit for many single-event requests); bigger ones on their own.
_COALESCE_MAX_ROWS = 50
# Connection parameters of Django's that are not libpq's.
_DJANGO_ONLY_OPTIONS = frozenset({"pool", "server_side_binding", "isolation_level", "assume_role", "cursor_factory",
                                  "prepare_threshold"})


def _principal_in_thread(raw_key: str, generation: bytes | None) -> ApiKeyPrincipal | None:
    """The key's principal as of `generation` (read in the rate count's pipeline), from the database."""
    try:
        return principal_for_key_at(raw_key, generation)
    finally:
        close_old_connections()


def _new_principal_in_thread(raw_key: str) -> ApiKeyPrincipal | None:
    """The principal of a key this process has not cached (reads the key generation itself)."""
    try:
        return principal_for_key(raw_key)
    finally:
        close_old_connections()


def _record_use_in_thread(key_id: str) -> None:
    try:
        key_last_used_record(key_id)
    finally:
        close_old_connections()


def _site_in_thread(write_key: str):
    try:
        return tracking.site_for_write_key(write_key)
    finally:
        close_old_connections()


def _store_in_thread(workspace, prepared: Prepared, now) -> IngestResult:
    try:
        return ingest_store(workspace=workspace, prepared=prepared, now=now)
    finally:
        close_old_connections()


# Sync work runs in pools of our own, not through asgiref's `sync_to_async`, whose default (thread-sensitive)
# mode runs every call of the process on one shared thread: one workspace's slow store (many new contacts, costly
# segments) then held every other workspace's new contacts and every uncached key behind it. Key lookups have
# a pool of their own so that stores can never hold them up; stores are bounded per workspace
# (`_STORES_PER_WORKSPACE` at once), so one workspace can hold at most that many of the store threads.
_KEY_THREADS = 4
_STORE_THREADS = 8
_STORES_PER_WORKSPACE = 2


def _conninfo() -> str:
    from psycopg.conninfo import make_conninfo

    db = connections["default"].settings_dict
    params: dict[str, Any] = {"dbname": db["NAME"], "user": db.get("USER") or None,
                              "password": db.get("PASSWORD") or None, "host": db.get("HOST") or None,
                              "port": db.get("PORT") or None}
    for name, value in (db.get("OPTIONS") or {}).items():
        if name not in _DJANGO_ONLY_OPTIONS and isinstance(value, str | int):
            params[name] = value
    return make_conninfo(**{name: value for name, value in params.items() if value is not None})


class EventsFastPath:
    """ASGI middleware: serve `POST /api/v1/events` on the event loop, pass everything else to `app`.

    Owns an async PostgreSQL pool and a Redis client, both created on first use in the running loop; `aclose()`
    (called on lifespan shutdown) releases them.
    """

    def __init__(self, app, *, pool_min_size: int | None = None, pool_max_size: int | None = None) -> None:
        self.app = app
        self.pool_min_size = pool_min_size
        self.pool_max_size = pool_max_size
        self._pool_task: asyncio.Task | None = None
        self._redis: tuple[str, Any] | None = None
        self._pending: list[tuple[Any, list[InsertRow], asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self._lookups: list[tuple[Any, list, asyncio.Future]] = []
        self._looker: asyncio.Task | None = None
        self._counts: list[tuple[str | None, int, asyncio.Future]] = []
        self._counter: asyncio.Task | None = None
        self._threads: dict[str, ThreadPoolExecutor] = {}
        self._workspace_stores: dict[Any, list] = {}  # workspace id -> [semaphore, users]

    # --- ASGI ------------------------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "http" and scope["method"] == "POST" and scope["path"] in _PATHS and self._ours(scope):
            await self._serve(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.app(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        """Close the pool and the Redis client (they are re-created if a request comes after), once the writes
        under way are done."""
        running = [task for task in (self._writer, self._looker, self._counter) if task is not None]
        await asyncio.gather(*running, return_exceptions=True)
        task, self._pool_task = self._pool_task, None
        if task is not None:
            try:
                pool = await task
            except Exception:
                pool = None
            if pool is not None:
                await pool.close()
        redis, self._redis = self._redis, None
        if redis is not None:
            await redis[1].aclose()
        threads, self._threads = self._threads, {}
        for pool in threads.values():
            pool.shutdown(wait=False)

    def _ours(self, scope) -> bool:
        """Whether Django would serve this request with the events view (else it gets it, and says what it says)."""
        if scope.get("root_path"):
            return False
        headers = _headers(scope)
        if "idempotency-key" in headers:
            return False  # Django's idempotency middleware answers repeats; the fast path keeps no answers
        host = headers.get("host")
        if settings.USE_X_FORWARDED_HOST and "x-forwarded-host" in headers:
            host = headers["x-forwarded-host"]
        if not host:
            return False
        domain, _ = split_domain_port(host)
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        if not domain or not validate_host(domain, allowed):
            return False
        return not (settings.SECURE_SSL_REDIRECT and not _is_secure(scope, headers))

    async def _serve(self, scope, receive, send) -> None:
        headers = _headers(scope)
        secure = _is_secure(scope, headers)
        path = _PATHS[scope["path"]]
        refusal = content_length_refusal(headers.get("content-length"), path)
        if refusal is not None:
            # Refused before the body is read (as the body-size middleware does): the connection cannot be reused.
            await _send(send, *_refusal(refusal), secure=secure, close=True, early=True)
            return
        body, size, state = await _read_body(receive, path)
        if state == "gone":
            return  # the client went away
        try:
            if path == TRACK_PATH:
                status, payload, extra = await self._answer_track(headers, scope, body, size)
            else:
                status, payload, extra = await self._answer(headers, body, size)
        except Exception:
            logger.exception("Unhandled error in the events fast path")
            status, payload, extra = _refusal(Refusal(
                500, "server_error", "Something went wrong on our side; it has been logged."))
        await _send(send, status, payload, extra, secure=secure, close=state == "cut")

    # --- the endpoint ----------------------------------------------------------------------------------------

    async def _answer(self, headers: dict[str, str], body: bytes | None, size: int):
        """Return (status, body, extra headers) for a request whose body has been read."""
        raw_key = bearer_key(headers.get("authorization", ""))
        if isinstance(raw_key, Refusal):
            return _refusal(raw_key)
        principal, wait = await self._admit(raw_key)
        if principal is None:
            return _refusal(INVALID_KEY)
        if wait is not None:
            return _refusal(throttled(wait))
        if refusal := scope_refusal(principal):
            return _refusal(refusal)
        if key_last_used_due(principal.key_id):
            # Not awaited: recording the use (at most once a minute per key) never delays the answer.
            asyncio.get_running_loop().run_in_executor(self._pool_of("keys"), _record_use_in_thread, principal.key_id)
        if refusal := content_type_refusal(headers.get("content-type", "")):
            return _refusal(refusal)
        if refusal := body_size_refusal(size):
            return _refusal(refusal)
        now = timezone.now()
        try:
            prepared = ingest_validate(body, now)
            result = await self._store(principal.workspace, prepared, now)
            ingest_result(prepared, result)
        except InvalidInput as error:
            return _refusal(Refusal(error.status, error.code, error.message, error.details))
        return 202, msgspec.json.encode(result.as_body()), ()

    async def _answer_track(self, headers: dict[str, str], scope, body: bytes | None, size: int):
        """`events.track_views.track` on the loop: (status, body, extra headers) for a read body."""
        origin = headers.get("origin")
        cors = tracking.cors_headers(origin)
        refusal = (body_size_refusal(size, TRACK_PATH)
                   or tracking.content_type_refusal(headers.get("content-type", "")))
        if refusal is not None:
            return _refusal(refusal, cors)
        now = timezone.now()
        try:
            prepared, body_key = tracking.track_prepare(body, now)
        except InvalidInput as error:
            return _refusal(Refusal(error.status, error.code, error.message, error.details), cors)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        write_key = tracking.write_key_of(headers.get("x-write-key"), (query.get("write_key") or [None])[0],
                                          body_key)
        if isinstance(write_key, Refusal):
            return _refusal(write_key, cors)
        site = tracking.cached_site(write_key)
        if site is tracking.NOT_CACHED:
            site = await self._in_thread("keys", _site_in_thread, write_key)
        if site is None:
            return _refusal(tracking.INVALID_WRITE_KEY, cors)
        if refusal := tracking.origin_refusal(site, origin):
            return _refusal(refusal, cors)
        wait, _ = await self._retry_after(tracking.rate_key(site), settings.TRACKING_RATE_PER_MINUTE)
        if wait is not None:
            return _refusal(throttled(wait), cors)
        try:
            result = await self._store(site.workspace, prepared, now)
            ingest_result(prepared, result)
        except InvalidInput as error:
            return _refusal(Refusal(error.status, error.code, error.message, error.details), cors)
        return 202, msgspec.json.encode(result.as_body()), cors

    async def _admit(self, raw_key: str) -> tuple[ApiKeyPrincipal | None, int | None]:
        """Return the key's principal (None: not a valid key) and the seconds to wait when it is over its rate.

        A key in `principal_for_key`'s cache is trusted only if the key generation, read in the same pipelined
        round trip as the rate count, is the one it was cached under; otherwise (a revocation, a deletion since)
        it is looked up again. A key not in the cache is looked up in a thread.
        """
        cached = key_cache.peek(key_digest(raw_key))
        if cached is None:
            principal = await self._in_thread("keys", _new_principal_in_thread, raw_key)
            if principal is None:
                return None, None
            wait, _ = await self._retry_after(principal.key_id, principal.rate_limit_per_minute)
            return principal, wait
        cached_generation, principal = cached
        wait, generation = await self._retry_after(principal.key_id, principal.rate_limit_per_minute)
        if generation is None or generation != cached_generation:
            principal = await self._in_thread("keys", _principal_in_thread, raw_key, generation)
        return principal, wait

    def _pool_of(self, pool_name: str) -> ThreadPoolExecutor:
        pool = self._threads.get(pool_name)
        if pool is None:
            size = _KEY_THREADS if pool_name == "keys" else _STORE_THREADS
            pool = self._threads[pool_name] = ThreadPoolExecutor(size, thread_name_prefix=f"events-{pool_name}")
        return pool

    async def _in_thread(self, pool_name: str, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool_of(pool_name), function, *args)

    async def _store_slowly(self, workspace, prepared: Prepared, now) -> IngestResult:
        """The sync `ingest_store`, at most `_STORES_PER_WORKSPACE` at once per workspace."""
        gate = self._workspace_stores.get(workspace.pk)
        if gate is None:
            gate = self._workspace_stores[workspace.pk] = [asyncio.Semaphore(_STORES_PER_WORKSPACE), 0]
        gate[1] += 1  # requests holding or waiting for this workspace's gate
        try:
            async with gate[0]:
                return await self._in_thread("stores", _store_in_thread, workspace, prepared, now)
        finally:
            gate[1] -= 1
            if not gate[1]:
                del self._workspace_stores[workspace.pk]  # idle: the map stays as small as the traffic

    async def _store(self, workspace, prepared: Prepared, now) -> IngestResult:
        """`events.ingest.ingest_store`, with the known-contacts path on the async pool."""
        result = IngestResult()
        if not prepared.valid:
            return result
        found = await self._lookup(workspace.pk, prepared.valid)
        if unknown_emails(prepared.valid, found):
            # New contacts to create (rare): the sync service does it all, in its transaction.
            return await self._store_slowly(workspace, prepared, now)
        valid = attach_contacts(prepared.valid, found, prepared.rejected)
        rows, repeats = event_rows(valid, prepared.source)
        stored = await self._insert(workspace.pk, events_insert_rows(rows, now)) if rows else 0
        result.accepted, result.duplicates = stored, repeats + len(rows) - stored
        return result

    async def _lookup(self, workspace_id, items) -> ContactMatches:
        """Find the contacts `items` name. Small requests are queued for the lookup task, which looks up the
        contacts of all those waiting in one query per workspace (a superset of each one's answer, which is
        only read by names: the same answer)."""
        if len(items) > _COALESCE_MAX_ROWS:
            pool = await self._pool()
            async with pool.connection() as conn:
                return await _lookup_contacts(conn, workspace_id, items)
        done = asyncio.get_running_loop().create_future()
        self._lookups.append((workspace_id, items, done))
        if self._looker is None or self._looker.done():
            self._looker = asyncio.ensure_future(self._lookup_pending())
        return await done

    async def _lookup_pending(self) -> None:
        while self._lookups:
            waiting, self._lookups = self._lookups, []
            groups: dict[Any, list] = {}
            for entry in waiting:
                groups.setdefault(entry[0], []).append(entry)
            try:
                pool = await self._pool()
                async with pool.connection() as conn:
                    for workspace_id, entries in groups.items():
                        found = await _lookup_contacts(conn, workspace_id,
                                                       [item for _, items, _ in entries for item in items])
                        for _, _, done in entries:
                            if not done.done():
                                done.set_result(found)
            except Exception as error:
                for _, _, done in waiting:
                    if not done.done():
                        done.set_exception(error)

    async def _insert(self, workspace_id, rows: list[InsertRow]) -> int:
        """Run `EVENTS_INSERT_SQL` for `rows` (autocommit: committed before this returns); return how many were
        stored. Small requests are queued for the writer task, which writes all those waiting in one statement.
        """
        if len(rows) > _COALESCE_MAX_ROWS:
            pool = await self._pool()
            async with pool.connection() as conn:
                return await _insert_rows(conn, workspace_id, rows)
        done = asyncio.get_running_loop().create_future()
        self._pending.append((workspace_id, rows, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_pending())
        return await done

    async def _write_pending(self) -> None:
        """Write the queued small requests, one statement per workspace, until the queue is empty.

        A statement's keys must be unique: a request repeating a key of an earlier request of the same statement
        waits for the next one (and is then a duplicate, as if it had come second). If a shared statement fails,
        its requests are retried one by one, so that one request's failure is not its neighbours'.
        """
        while self._pending:
            waiting, self._pending = self._pending, []
            groups: dict[Any, tuple[list[InsertRow], set[str], list]] = {}
            later = []
            for entry in waiting:
                workspace_id, rows, _ = entry
                keys = {row.key for row in rows if row.key is not None}
                group = groups.setdefault(workspace_id, ([], set(), []))
                if keys & group[1]:
                    later.append(entry)
                    continue
                group[0].extend(rows)
                group[1].update(keys)
                group[2].append(entry)
            self._pending[:0] = later
            try:
                pool = await self._pool()
                async with pool.connection() as conn:
                    for workspace_id, (rows, _, entries) in groups.items():
                        try:
                            new_keys = await _insert_rows_keys(conn, workspace_id, rows)
                        except Exception:
                            if len(entries) == 1:
                                raise
                            logger.warning("A shared insert of %s requests failed; retrying them one by one",
                                           len(entries), exc_info=True)
                            for entry in entries:
                                await _settle_alone(conn, entry)
                            continue
                        for _, request_rows, done in entries:
                            if not done.done():
                                done.set_result(sum(1 for row in request_rows
                                                    if row.key is None or row.key in new_keys))
            except Exception as error:
                for _, _, done in waiting:
                    if not done.done() and done not in {entry[2] for entry in later}:
                        done.set_exception(error)

    async def _retry_after(self, key_id: str, per_minute: int | None) -> tuple[int | None, bytes | None]:
        """`events.views._retry_after` on the loop, and the current key generation, in one pipelined round
        trip; without Redis, no wait (it fails open) and no generation (cached keys are not trusted)."""
        now = time.time()
        window = throttle_window(key_id, now, per_minute=per_minute)
        try:
            count, generation = await self._count(window.key if window else None, window.period + 1 if window else 0)
        except Exception:
            logger.warning("Event ingestion rate limiter unavailable; letting the request through", exc_info=True)
            return None, None
        return (window.retry_after(count, now) if window else None), generation

    async def _count(self, key: str | None, ttl: int) -> tuple[int, bytes]:
        """INCR `key` (and EXPIRE it) and read the key generation: the requests waiting meanwhile are counted
        together, one INCRBY per key and one GET in one pipelined round trip, and each gets the count it would
        have got alone. With no `key`, only the generation is read."""
        done = asyncio.get_running_loop().create_future()
        self._counts.append((key, ttl, done))
        if self._counter is None or self._counter.done():
            self._counter = asyncio.ensure_future(self._count_pending())
        return await done

    async def _count_pending(self) -> None:
        while self._counts:
            waiting, self._counts = self._counts, []
            by_key: dict[str, tuple[int, list[asyncio.Future]]] = {}
            for key, ttl, done in waiting:
                if key is not None:
                    by_key.setdefault(key, (ttl, []))[1].append(done)
            try:
                # Built after every waiting request arrived, so the GET sees any revocation made before them.
                pipe = self._redis_client().pipeline(transaction=False)
                pipe.get(KEY_GENERATION)
                for key, (ttl, waiters) in by_key.items():
                    pipe.incrby(key, len(waiters))
                    pipe.expire(key, ttl)
                results = await asyncio.wait_for(pipe.execute(), timeout=1.0)
            except Exception as error:
                for _, _, done in waiting:
                    if not done.done():
                        done.set_exception(error)
                continue
            generation, counts = results[0] or b"", results[1::2]
            for (_, waiters), total in zip(by_key.values(), counts, strict=True):
                for position, done in enumerate(waiters, start=total - len(waiters) + 1):
                    if not done.done():
                        done.set_result((position, generation))
            for key, _, done in waiting:
                if key is None and not done.done():
                    done.set_result((0, generation))

    # --- resources -------------------------------------------------------------------------------------------

    def _redis_client(self):
        url = settings.REDIS_URL
        if self._redis is None or self._redis[0] != url:
            from redis.asyncio import Redis

            self._redis = (url, Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5))
        return self._redis[1]

    async def _pool(self):
        if self._pool_task is None:
            self._pool_task = asyncio.ensure_future(self._open_pool())
        try:
            return await asyncio.shield(self._pool_task)
        except Exception:
            self._pool_task = None  # the next request tries again
            raise

    async def _open_pool(self):
        from psycopg_pool import AsyncConnectionPool

        max_size = self.pool_max_size or settings.EVENTS_FASTPATH_POOL_MAX_SIZE
        min_size = min(self.pool_min_size or settings.EVENTS_FASTPATH_POOL_MIN_SIZE, max_size)
        pool = AsyncConnectionPool(
            _conninfo(), min_size=min_size, max_size=max_size, open=False, timeout=10.0,
            kwargs={"autocommit": True}, name="events-fastpath",
        )
        await pool.open(wait=True, timeout=10.0)
        return pool


async def _lookup_contacts(conn, workspace_id, items) -> ContactMatches:
    found = ContactMatches()
    query = contact_lookup_sql(workspace_id, items)
    if query is not None:
        cursor = await conn.execute(*query)
        found.add_rows(await cursor.fetchall())
    return found


async def _insert_rows_keys(conn, workspace_id, rows: list[InsertRow]) -> set[str]:
    cursor = await conn.execute(EVENTS_INSERT_SQL, events_insert_params(workspace_id=workspace_id, rows=rows))
    return {key for (key,) in await cursor.fetchall()}


async def _insert_rows(conn, workspace_id, rows: list[InsertRow]) -> int:
    new_keys = await _insert_rows_keys(conn, workspace_id, rows)
    return sum(1 for row in rows if row.key is None) + len(new_keys)


async def _settle_alone(conn, entry) -> None:
    workspace_id, rows, done = entry
    try:
        stored = await _insert_rows(conn, workspace_id, rows)
    except Exception as error:
        if not done.done():
            done.set_exception(error)
    else:
        if not done.done():
            done.set_result(stored)


# --- HTTP helpers --------------------------------------------------------------------------------------------


def _headers(scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _is_secure(scope, headers: dict[str, str]) -> bool:
    if scope.get("scheme") == "https":
        return True
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name, expected = proxy
        value = headers.get(name.removeprefix("HTTP_").replace("_", "-").lower())
        if value is not None:
            return value.split(",", 1)[0].strip() == expected
    return False


async def _read_body(receive, path: str = EVENTS_PATH) -> tuple[bytes | None, int, str]:
    """Read the request body; return (body, or None when over the limit; its size; "done" | "cut" | "gone").

    A body over the limit is counted without being kept, up to `_DRAIN_FACTOR` times the limit ("cut": the rest
    is left unread and the connection must close); "gone" is a client that disconnected.
    """
    limit = body_limit(path)
    chunks: list[bytes] | None = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, size, "gone"
        chunk = message.get("body", b"")
        size += len(chunk)
        if chunks is not None:
            if size > limit:
                chunks = None
            else:
                chunks.append(chunk)
        if not message.get("more_body", False):
            return (b"".join(chunks) if chunks is not None else None), size, "done"
        if size > limit * _DRAIN_FACTOR:
            return None, size, "cut"


def _refusal(refusal: Refusal, extra: tuple[tuple[str, str], ...] = ()
             ) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    body = json.dumps(error_body(refusal.code, refusal.message, refusal.details), cls=DjangoJSONEncoder)
    return refusal.status, body.encode(), refusal.headers + extra


def _security_headers(secure: bool, early: bool) -> list[tuple[bytes, bytes]]:
    """The headers Django's SecurityMiddleware and XFrameOptionsMiddleware add to the view's answers (only the
    former to an `early` answer of the body-size middleware, which sits between them)."""
    headers: list[tuple[str, str]] = []
    if settings.SECURE_HSTS_SECONDS and secure:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if policy := settings.SECURE_REFERRER_POLICY:
        value = ",".join([v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy)
        headers.append(("Referrer-Policy", value))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    if not early:
        headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return [(name.lower().encode(), value.encode()) for name, value in headers]


async def _send(send, status: int, body: bytes, extra, *, secure: bool, close: bool = False,
                early: bool = False) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in extra]
    headers += _security_headers(secure, early)
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
