"""The mechanics of handing an outbox row to the mail server: the message, the lanes that carry it, the verdict
on errors, the rate limit.

`templates.services.outbox_deliver` drives these; nothing here writes to the database.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import random
import re
import smtplib
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Literal
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.validators import validate_email

from penguinflow.common.errors import InvalidInput
from templates import tracking
from templates.mime import SessionLost, smtp_send, wire_message
from templates.rendering import single_line

logger = logging.getLogger(__name__)

Verdict = Literal["retry", "fail", "unknown"]


_NAME_ADDR = re.compile(r"^(.*)<([^<>]*)>\s*$", re.DOTALL)


class InvalidAddress(InvalidInput):
    """A sender or reply-to address that is not one valid address; nothing was stored or sent."""

    code = "invalid_address"


@functools.lru_cache(maxsize=4096)
def clean_address(value: str, *, field: str, name: str | None = None) -> str:
    """Return `value` as one safe `Name <addr>` header value; control characters in the name become spaces.

    Raises InvalidAddress when no single valid address remains (CR/LF can never reach a header).
    """
    value = single_line(value)
    # Parse "Name <addr>" by hand: parseaddr() reads "Acme Bcc: x@evil.test <a@acme.test>" as a group and returns
    # x@evil.test. Here the address is what is inside the last <...>, and everything before it is the name.
    match = _NAME_ADDR.match(value)
    display, addr = (match.group(1).strip().strip('"').strip(), match.group(2).strip()) if match else ("", value)
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in addr) or "," in addr:
        raise InvalidAddress(f"{field} is not a single valid address.", details={field: "Not a valid address."})
    try:
        validate_email(addr)
    except ValidationError as error:
        raise InvalidAddress(f"{field} is not a valid address.", details={field: "Not a valid address."}) from error
    display = single_line(name if name is not None else display)
    return formataddr((display, addr)) if display else addr


def message_id_domain() -> str:
    return _message_id_domain(settings.EMAIL_MESSAGE_ID_DOMAIN, settings.DEFAULT_FROM_EMAIL)


@functools.lru_cache(maxsize=8)
def _message_id_domain(configured: str, default_from: str) -> str:
    if configured:
        return configured
    _, addr = parseaddr(default_from)
    return addr.rpartition("@")[2] or "penguinflow.invalid"


def message_id_header(outbox_id) -> str:
    """Return our Message-ID for an outbox row: derived from its id, so identical on every attempt."""
    return f"<{outbox_id}@{message_id_domain()}>"


def outbox_id_from_message_id(value: str | None):
    """Return the outbox id named by one of our Message-IDs (`<uuid@domain>`), or None."""
    import uuid

    if not value:
        return None
    local = value.strip().strip("<>").partition("@")[0]
    try:
        return uuid.UUID(local)
    except ValueError:
        return None


def unsubscribe_mailbox() -> str:
    if settings.EMAIL_UNSUBSCRIBE_MAILTO:
        return settings.EMAIL_UNSUBSCRIBE_MAILTO
    _, addr = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = addr.rpartition("@")[2]
    return f"unsubscribe@{domain}" if domain else ""


def list_unsubscribe(outbox_id) -> str:
    """Return the List-Unsubscribe value: the one-click HTTPS URL, then a mailto: carrying the same token."""
    tokens = tracking.MessageTokens(outbox_id)
    token = tokens.token(tracking.UNSUBSCRIBE)
    url = tokens.unsubscribe_url(token)
    mailbox = unsubscribe_mailbox()
    if not mailbox:
        return f"<{url}>"
    return f"<{url}>, <mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>"


def build_message(row, *, connection=None) -> EmailMultiAlternatives:
    """Return the EmailMultiAlternatives of an outbox row, with our stable Message-ID and RFC 8058 headers."""
    headers = {
        "Message-ID": row.message_id,
        "List-Unsubscribe": list_unsubscribe(row.id),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-PenguinFlow-Message": str(row.id),
    }
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.text,
        from_email=row.from_email,
        to=[row.to_email],
        reply_to=[row.reply_to] if row.reply_to else None,
        headers=headers,
        connection=connection,
    )
    if row.html:
        message.attach_alternative(row.html, "text/html")
    # Anymail echoes metadata in its webhooks: that is how an ESP event finds this row again.
    message.metadata = {"pf_message_id": str(row.id)}
    return message


def hand_over(row, conn) -> str | None:
    """Send one outbox row through the open backend `conn`; return the ESP's message id (None for SMTP)."""
    if isinstance(conn, SMTPBackend) and conn.connection is not None:
        try:
            wire = wire_message(row, list_unsubscribe=list_unsubscribe(row.id))
        except ValueError:
            wire = None  # an address that needs SMTPUTF8: Django's builder below knows what to do with it
        if wire is not None:
            smtp_send(conn.connection, wire)
            return None
        try:  # Django's sendmail cannot say whether a lost connection took the content: make sure it is alive
            conn.connection.noop()
        except smtplib.SMTPServerDisconnected as error:
            raise SessionLost(str(error)) from error
    message = build_message(row, connection=conn)
    conn.send_messages([message])
    return esp_message_id(message)


def open_connection(conn) -> BaseException | None:
    """(Re-)open a backend connection when it is closed; return the error when that fails (nothing was sent)."""
    try:
        if getattr(conn, "connection", True) is None:
            conn.open()
    except Exception as error:
        return error
    return None


def _socket_closed(conn) -> bool:
    """Whether smtplib closed the SMTP backend's socket (after a 421, or a session out of step)."""
    smtp = getattr(conn, "connection", None)
    return isinstance(smtp, smtplib.SMTP) and smtp.sock is None


# Set on a backend connection once a message went through it; cleared when it is closed.
_PROVEN = "_pf_proven"


def _reset(conn) -> None:
    try:
        conn.close()
    except Exception:
        logger.debug("Closing a broken mail connection failed", exc_info=True)
    if hasattr(conn, "connection"):
        conn.connection = None
    setattr(conn, _PROVEN, False)


@dataclass
class Outcome:
    """What became of one row's hand-off: `error` None means handed over; `opening` means the error came from
    (re-)opening the connection, so nothing of this row reached the server."""

    row: object
    esp_id: str | None = None
    error: BaseException | None = None
    opening: bool = False


class Lanes:
    """Backend connections used side by side: SMTP is a conversation of round trips, so one connection leaves a
    worker waiting on the server most of the time (more so the farther the server is). Each lane is one
    connection driven by one thread; the rows of a group are shared among the lanes. Only hand-offs happen in
    the threads: the caller records the outcomes, in its own thread and transaction.

    With an explicit `connection` there is one lane, that connection, which the caller keeps open or closes.
    """

    def __init__(self, connection=None, *, size: int = 1) -> None:
        self._own = connection is None
        count = max(1, size) if self._own else 1
        self._connections = [connection] if connection is not None else [
            get_connection(fail_silently=False) for _ in range(count)
        ]  # fmt: skip
        self._pool = ThreadPoolExecutor(count, thread_name_prefix="mail-lane") if count > 1 else None

    @property
    def smtp(self) -> bool:
        """Whether these lanes are Django SMTP backends (which `KeptLanes` may keep open)."""
        return all(isinstance(conn, SMTPBackend) for conn in self._connections)

    def kept(self) -> None:
        """Kept for a later job: a session that worked and then sat idle may be dropped by the server without a
        word; its lane will send the row in hand again at once on a new connection."""
        for conn in self._connections:
            if getattr(conn, "connection", None) is not None:
                setattr(conn, _PROVEN, True)

    def ready(self) -> BaseException | None:
        """Make sure the first lane can reach the server (before anything is claimed); return the error if not."""
        return open_connection(self._connections[0])

    def hand_over(self, rows: list) -> list[Outcome]:
        """Hand `rows` over, in parallel over the lanes; return one outcome per row (in no particular order)."""
        if self._pool is None or len(rows) < 2:
            return [self._one(self._connections[0], row) for row in rows]
        waiting = deque(rows)
        lanes = self._connections[: len(rows)]
        futures = [self._pool.submit(self._drain, conn, waiting) for conn in lanes]
        return [outcome for future in futures for outcome in future.result()]

    def _drain(self, conn, waiting: deque) -> list[Outcome]:
        outcomes = []
        while True:
            try:
                row = waiting.popleft()  # deque.popleft is atomic: each row goes to exactly one lane
            except IndexError:
                return outcomes
            outcomes.append(self._one(conn, row))

    @classmethod
    def _one(cls, conn, row) -> Outcome:
        proven = getattr(conn, _PROVEN, False)
        outcome = cls._try(conn, row)
        if proven and isinstance(outcome.error, SessionLost):
            # The server ended a session that had carried messages (an idle timeout of a connection kept from
            # an earlier job, a restart, a messages-per-connection limit); nothing of this row was sent: once
            # more, on a new connection. A new connection that fails so is a server that wants us to wait.
            outcome = cls._try(conn, row)
        return outcome

    @staticmethod
    def _try(conn, row) -> Outcome:
        error = open_connection(conn)  # closed after an earlier row's broken hand-off
        if error is not None:
            return Outcome(row, error=error, opening=True)
        try:
            outcome = Outcome(row, esp_id=hand_over(row, conn))
        except Exception as error:
            if isinstance(error, SessionLost) or verdict(error) == "unknown" or _socket_closed(conn):
                _reset(conn)  # broken, or ended (421, out of step): the lane's next row reconnects
            return Outcome(row, error=error)
        setattr(conn, _PROVEN, True)
        return outcome

    def close(self, *, polite: bool = True) -> None:
        """Stop the lanes' threads and close the connections this made: with QUIT, or (`polite=False`, for
        connections that sat idle and may be dead, where QUIT could wait out the timeout) just the sockets."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._own:
            for conn in self._connections:
                try:
                    if polite or not isinstance(getattr(conn, "connection", None), smtplib.SMTP):
                        conn.close()
                    else:
                        conn.connection.close()
                        conn.connection = None
                except Exception:  # closing a broken connection must not hide what happened
                    logger.debug("Closing the mail connection failed", exc_info=True)
                setattr(conn, _PROVEN, False)


# What a kept Lanes was opened with: a job finding other settings (tests, a reconfigured process) opens anew.
_BACKEND_SETTINGS = (
    "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS",
    "EMAIL_USE_SSL", "EMAIL_SSL_CERTFILE", "EMAIL_SSL_KEYFILE", "EMAIL_TIMEOUT", "EMAIL_SMTP_CONNECTIONS", "ANYMAIL",
)  # fmt: skip


class KeptLanes:
    """SMTP lanes kept open from one delivery job to the next in this process, for EMAIL_SMTP_KEEP_SECONDS.

    Each job would otherwise connect, greet (and negotiate TLS and log in) once per lane and say QUIT at its
    end: several round trips and, with TLS, a handshake per lane and job, on both sides. A kept connection the
    server has closed meanwhile costs nothing but a reconnect: it fails before the message's content is sent
    (SessionLost), and the lane sends that row again on a new connection. Only SMTP lanes are kept: an ESP
    backend's HTTP client cannot tell a stale connection from a lost request.

    A job takes Lanes with `take()` and gives them back with `give_back()` only when it ended normally; lanes
    a job left in an unknown state (an exception mid-conversation) are closed instead. Thread-safe; a forked
    child forgets the parent's lanes (their sockets and threads are the parent's).
    """

    def __init__(self, *, keep: int = 2) -> None:
        self._lock = threading.Lock()
        self._idle: list[tuple[tuple, float, Lanes]] = []  # (settings, given back at, lanes)
        self._keep = keep

    def take(self) -> Lanes:
        """Return kept lanes opened with the current settings and not idle too long, or new ones."""
        wanted, now = _backend_settings(), time.monotonic()
        found, stale = None, []
        with self._lock:
            kept = []
            for entry in self._idle:
                key, since, lanes = entry
                if key != wanted or now - since > settings.EMAIL_SMTP_KEEP_SECONDS:
                    stale.append(lanes)
                elif found is None:
                    found = lanes
                else:
                    kept.append(entry)
            self._idle = kept
        for lanes in stale:
            lanes.close(polite=False)
        return found or Lanes(size=settings.EMAIL_SMTP_CONNECTIONS)

    def give_back(self, lanes: Lanes) -> None:
        """Keep `lanes` for the next job (or close them: keeping is off, enough are kept, not SMTP)."""
        entry = (_backend_settings(), time.monotonic(), lanes)
        with self._lock:
            if settings.EMAIL_SMTP_KEEP_SECONDS > 0 and len(self._idle) < self._keep and lanes.smtp:
                lanes.kept()
                self._idle.append(entry)
                return
        lanes.close()

    def close(self) -> None:
        """Close every kept connection (at exit)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, _, lanes in idle:
            lanes.close(polite=False)

    def forget(self) -> None:
        """Drop the kept lanes without touching them (in a forked child: they are the parent's)."""
        self._lock = threading.Lock()
        self._idle = []


def _backend_settings() -> tuple:
    return tuple(repr(getattr(settings, name, None)) for name in _BACKEND_SETTINGS)


kept_lanes = KeptLanes()
atexit.register(kept_lanes.close)
os.register_at_fork(after_in_child=kept_lanes.forget)


@contextmanager
def job_lanes(connection=None) -> Iterator[Lanes]:
    """The lanes of one delivery job: kept ones (see KeptLanes), or one lane over the caller's `connection`."""
    if connection is not None:
        lanes = Lanes(connection)
        try:
            yield lanes
        finally:
            lanes.close()
        return
    lanes = kept_lanes.take()
    try:
        yield lanes
    except BaseException:
        lanes.close()  # a conversation may have been cut anywhere: never hand such connections to a next job
        raise
    kept_lanes.give_back(lanes)


def esp_message_id(message) -> str | None:
    status = getattr(message, "anymail_status", None)
    return getattr(status, "message_id", None) if status is not None else None


def verdict(error: BaseException) -> Verdict:
    """Classify a send error: `retry` (the server said no for now, or we never reached it), `fail` (it said no
    for good), `unknown` (the message may have been accepted: never re-send blindly)."""
    try:
        from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
    except ImportError:  # pragma: no cover - anymail is a dependency
        AnymailError = AnymailRecipientsRefused = AnymailRequestsAPIError = ()

    if isinstance(error, SessionLost):
        return "retry"  # the connection broke before the content was sent: nothing was handed over
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return "retry" if codes and all(400 <= code < 500 for code in codes) else "fail"
    if isinstance(error, smtplib.SMTPResponseException):
        return "retry" if 400 <= error.smtp_code < 500 else "fail"
    if isinstance(error, (smtplib.SMTPServerDisconnected, TimeoutError, ConnectionResetError, BrokenPipeError)):
        return "unknown"
    if AnymailRecipientsRefused and isinstance(error, AnymailRecipientsRefused):
        return "fail"
    if AnymailRequestsAPIError and isinstance(error, AnymailRequestsAPIError):
        status = getattr(error, "status_code", None)
        if status is None:
            import requests

            if isinstance(error, requests.ConnectTimeout) or "NewConnectionError" in repr(error.__context__):
                return "retry"
            return "unknown"
        return "retry" if status == 429 or status >= 500 else "fail"
    if AnymailError and isinstance(error, AnymailError):
        return "fail"
    if isinstance(error, ssl.SSLError):
        # A TLS failure (an untrusted certificate is also a ValueError): the server, or our trust in it, must
        # change; the message itself is fine.
        return "unknown"
    if isinstance(error, (ValueError, TypeError, UnicodeError)):
        return "fail"  # the message itself cannot be built or encoded; trying again changes nothing
    return "unknown"


def backoff(attempts: int) -> timedelta:
    """Return the wait before attempt `attempts + 1`: 30 s doubling, at most an hour, with ±20 % jitter."""
    base = min(30 * 2 ** max(0, attempts - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class RateDecision:
    allowed: int
    retry_at: datetime | None


def rate_take(*, workspace_id, limit: int, count: int, now: datetime) -> RateDecision:
    """Take up to `count` sends from the workspace's per-minute budget, shared by all workers through Redis.

    A fixed one-minute window: INCRBY is atomic, so two workers cannot both take the last slot. Losing the
    counters (a Redis flush) only forgets how many were sent this minute: no message lives here.
    """
    if limit <= 0 or count <= 0:
        return RateDecision(allowed=0 if limit <= 0 else count, retry_at=None if count <= 0 else _next_window(now))
    import django_rq

    window = int(now.timestamp() // 60)
    key = f"pf:email:rate:{workspace_id}:{window}"
    pipe = django_rq.get_connection("email").pipeline()
    pipe.incrby(key, count)
    pipe.expire(key, 120)
    total, _ = pipe.execute()
    before = int(total) - count
    allowed = max(0, min(count, limit - before))
    return RateDecision(allowed=allowed, retry_at=None if allowed == count else _next_window(now))


def _next_window(now: datetime) -> datetime:
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return start + timedelta(milliseconds=random.randint(0, 5000))
