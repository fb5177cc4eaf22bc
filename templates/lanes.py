"""The connections that hand outbox rows to the mail server or ESP: the lanes (connections used side by side,
each driven by one thread), those kept open from one job to the next, the hand-off of one row, and the verdict
on a hand-off that failed.

The delivery job (`outbox_deliver`) drives these; nothing here writes to the database.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import requests
from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from templates.headers import list_unsubscribe
from templates.mime import SessionLost, smtp_send, wire_message
from templates.models import OutboxMessage

logger = logging.getLogger(__name__)

Verdict = Literal["retry", "fail", "unknown"]


def build_message(row, *, connection=None) -> EmailMultiAlternatives:
    """Return the EmailMultiAlternatives of an outbox row, with our stable Message-ID and, for a message to a
    contact, the RFC 8058 headers."""
    headers = {"Message-ID": row.message_id}
    unsubscribe = unsubscribe_header(row)
    if unsubscribe is not None:
        headers |= {"List-Unsubscribe": unsubscribe, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    headers["X-PenguinFlow-Message"] = str(row.id)
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
            wire = wire_message(row, list_unsubscribe=unsubscribe_header(row))
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


def unsubscribe_header(row) -> str | None:
    """The List-Unsubscribe value of a row; None for a notification: its team member has nothing to leave."""
    return list_unsubscribe(row.id) if row.kind == OutboxMessage.Kind.MESSAGE else None


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

def esp_message_id(message) -> str | None:
    status = getattr(message, "anymail_status", None)
    return getattr(status, "message_id", None) if status is not None else None


def verdict(error: BaseException) -> Verdict:
    """Classify a send error: `retry` (the server said no for now, or we never reached it), `fail` (it said no
    for good), `unknown` (the message may have been accepted: never re-send blindly)."""
    if isinstance(error, SessionLost):
        return "retry"  # the connection broke before the content was sent: nothing was handed over
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return "retry" if codes and all(400 <= code < 500 for code in codes) else "fail"
    if isinstance(error, smtplib.SMTPResponseException):
        return "retry" if 400 <= error.smtp_code < 500 else "fail"
    if isinstance(error, (smtplib.SMTPServerDisconnected, TimeoutError, ConnectionResetError, BrokenPipeError)):
        return "unknown"
    if isinstance(error, AnymailRecipientsRefused):
        return "fail"
    if isinstance(error, AnymailRequestsAPIError):
        status = getattr(error, "status_code", None)
        if status is None:
            if isinstance(error, requests.ConnectTimeout) or "NewConnectionError" in repr(error.__context__):
                return "retry"
            return "unknown"
        return "retry" if status == 429 or status >= 500 else "fail"
    if isinstance(error, AnymailError):
        return "fail"
    if isinstance(error, ssl.SSLError):
        # A TLS failure (an untrusted certificate is also a ValueError): the server, or our trust in it, must
        # change; the message itself is fine.
        return "unknown"
    if isinstance(error, (ValueError, TypeError, UnicodeError)):
        return "fail"  # the message itself cannot be built or encoded; trying again changes nothing
    return "unknown"
