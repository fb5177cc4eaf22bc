"""Real parts for the email tests: an aiosmtpd server on a free local port, the "email" RQ queue on Redis db 15."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    peer: tuple = ()  # the client's (host, port): one per SMTP connection

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        raise AssertionError(f"no {content_type} part")


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message; `replies` makes it answer the next DATA with those codes;
    `on_accepted` is called once a message is kept, before its answer (a fault a test inflicts at that moment)."""

    messages: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    on_accepted: Callable[[], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                          tuple(session.peer or ())))
        if self.on_accepted is not None:
            self.on_accepted()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages


def use_plain_smtp(settings, port: int, *, timeout: float) -> None:
    """Deliver through Django's SMTP backend to 127.0.0.1:`port`, without TLS or credentials."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, timeout
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


@pytest.fixture(scope="session")
def _smtp_controller():
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(port=port, recorder=recorder)
    controller.stop()


@pytest.fixture
def smtp(_smtp_controller, settings):
    """A real SMTP server that Django's SMTP backend delivers to; empty at the start of each test."""
    _smtp_controller.recorder.messages.clear()
    _smtp_controller.recorder.replies.clear()
    _smtp_controller.recorder.on_accepted = None
    use_plain_smtp(settings, _smtp_controller.port, timeout=10)
    settings.PUBLIC_BASE_URL = "https://pf.example.test"
    settings.DEFAULT_FROM_EMAIL = "PenguinFlow <noreply@penguinmails.test>"
    settings.EMAIL_UNSUBSCRIBE_MAILTO = ""
    settings.EMAIL_MESSAGE_ID_DOMAIN = ""
    return _smtp_controller


@pytest.fixture
def email_queue():
    """The "email" queue, emptied before and after the test (with its scheduled and failed jobs)."""
    import django_rq

    queue = django_rq.get_queue("email")

    def empty():
        queue.empty()
        for registry in (queue.scheduled_job_registry, queue.failed_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)

    empty()
    yield queue
    empty()


@pytest.fixture
def run_email_jobs(email_queue):
    """Drain the "email" queue with a real (non-forking) RQ worker; fail the test if a job failed."""
    from rq import SimpleWorker

    def run() -> int:
        count = email_queue.count
        SimpleWorker([email_queue], connection=email_queue.connection).work(burst=True)
        failed = email_queue.failed_job_registry.get_job_ids()
        assert failed == [], f"email jobs failed: {failed}"
        return count

    return run


@pytest.fixture
def contact(workspace):
    from tests.factories import ContactFactory

    return ContactFactory(workspace=workspace, email="ada@example.com", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def template(workspace):
    from tests.factories import EmailTemplateFactory

    return EmailTemplateFactory(
        workspace=workspace,
        subject="Hello {{ contact.first_name | default: 'there' }}",
        html=(
            "<html><body><p>Hi {{ contact.first_name }},</p>"
            '<p><a href="https://example.com/pricing?a=1&amp;b=2">See pricing</a> '
            "<a href='http://example.com/docs'>Docs</a> <a href=\"mailto:help@example.com\">Mail us</a></p>"
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
        ),
        text="",
    )
