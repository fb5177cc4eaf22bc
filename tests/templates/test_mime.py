"""The wire form of outbox rows (templates.mime) and the grouped delivery that hands it to a real SMTP server."""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from templates.delivery import outbox_deliver
from templates.mime import wire_message
from templates.models import OutboxMessage
from templates.outbox import email_send
from templates.recovery import outbox_sweep

ROW_ID = uuid.UUID("6f1c1f4e-8b1e-4a51-9f3a-1d2b3c4d5e6f")
UNSUBSCRIBE = "<https://pf.example.test/u/abc:def>, <mailto:unsubscribe@acme.test?subject=unsubscribe%20abc:def>"


@dataclass
class Row:
    subject: str = "Hello Ada"
    from_email: str = "Acme Team <hello@acme.test>"
    to_email: str = "Ada Lovelace <ada@example.com>"
    reply_to: str = ""
    html: str = "<p>Hi Ada</p>"
    text: str = "Hi Ada\n"
    id: uuid.UUID = ROW_ID

    @property
    def message_id(self) -> str:
        return f"<{self.id}@acme.test>"


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def test_wire_message_is_seven_bit_with_short_lines_and_decodes_to_the_row():
    row = Row(
        subject="Grüße, Zoë — your plan", to_email="Zoë Ürban <zoe@example.com>", reply_to="Support <help@acme.test>",
        html="<p>Grüße " + "x" * 300 + "</p>\r\n<p>.leading dot</p>", text="Grüße\n.leading dot\n" + "y" * 200,
    )  # fmt: skip

    wire = wire_message(row, list_unsubscribe=UNSUBSCRIBE)

    assert (wire.sender, wire.recipient) == ("hello@acme.test", "zoe@example.com")
    assert wire.data.isascii()
    assert all(len(line) <= 78 for line in wire.data.split(b"\r\n")), "every line fits in 78 characters"
    assert b"\n" not in wire.data.replace(b"\r\n", b"")
    message = parse(wire.data)
    assert message["Subject"] == row.subject
    assert message["To"] == row.to_email and message["From"] == row.from_email
    assert message["Reply-To"] == "Support <help@acme.test>"
    assert message["Message-ID"] == row.message_id
    assert message["X-PenguinFlow-Message"] == str(row.id)
    assert message["List-Unsubscribe"] == UNSUBSCRIBE
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"] and message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    text, html = (part.get_content() for part in message.iter_parts())
    assert text.replace("\r\n", "\n").rstrip("\n") == row.text.rstrip("\n")
    assert html.replace("\r\n", "\n").rstrip("\n") == row.html.replace("\r\n", "\n")


def test_the_same_row_gives_the_same_bytes_but_for_the_date():
    def without_date(data: bytes) -> bytes:
        return b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(b"Date:"))

    first, second = (wire_message(Row(), list_unsubscribe=UNSUBSCRIBE).data for _ in range(2))
    assert without_date(first) == without_date(second)


def test_text_only_row_is_a_single_text_part():
    message = parse(wire_message(Row(html=""), list_unsubscribe=UNSUBSCRIBE).data)

    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    assert message.get_content().replace("\r\n", "\n") == "Hi Ada\n"


def test_long_ascii_subject_is_folded_and_reads_back_whole():
    subject = " ".join(f"word{n}" for n in range(60))

    wire = wire_message(Row(subject=subject), list_unsubscribe=UNSUBSCRIBE)

    assert parse(wire.data)["Subject"] == subject
    assert all(len(line) <= 78 for line in wire.data.split(b"\r\n"))


def test_international_domain_goes_out_as_punycode():
    wire = wire_message(Row(to_email="Ada <ada@bücher.example>"), list_unsubscribe=UNSUBSCRIBE)

    assert wire.recipient == "ada@xn--bcher-kva.example"
    assert parse(wire.data)["To"] == "Ada <ada@xn--bcher-kva.example>"


@pytest.mark.parametrize(
    "change",
    [
        {"to_email": "Ada <adä@example.com>"},  # needs SMTPUTF8: Django's builder takes over
        {"subject": "Hello\r\nBcc: evil@attacker.test"},  # cleaned on the way in; refused on the way out anyway
        {"to_email": "Ada <ada@example.com>\r\nBcc: evil@attacker.test"},
        {"from_email": "<>"},
    ],
)
def test_rows_it_cannot_write_safely_raise_value_error(change):
    with pytest.raises(ValueError):
        wire_message(Row(**change), list_unsubscribe=UNSUBSCRIBE)


# ---------------------------------------------------------------------------------------------------------------
# Through the outbox to aiosmtpd

pytestmark_db = pytest.mark.django_db


def _queue(workspace, contacts, template, capture) -> list[str]:
    with capture(execute=False):
        return [
            email_send(key=f"k{n}", workspace=workspace, contact=contact, template=template, context={}).message_id
            for n, contact in enumerate(contacts)
        ]


@pytestmark_db
def test_non_ascii_subject_and_name_arrive_decoded(workspace, template, smtp, django_capture_on_commit_callbacks):
    from tests.factories import ContactFactory

    zoe = ContactFactory(workspace=workspace, email="zoe@example.com", first_name="Zoë", last_name="Ürban")
    template.subject = "Grüße {{ contact.first_name }}"
    template.save()
    (message_id,) = _queue(workspace, [zoe], template, django_capture_on_commit_callbacks)

    assert outbox_deliver(outbox_ids=[message_id]).sent == 1

    (received,) = smtp.messages
    assert received.rcpt_tos == ["zoe@example.com"]
    assert received.message["Subject"] == "Grüße Zoë"
    assert received.message["To"] == "Zoë Ürban <zoe@example.com>"
    assert "Hi Zoë," in received.part("text/html") and received.part("text/plain").startswith("Hi Zoë,")


@pytestmark_db
def test_a_row_another_job_claimed_is_left_to_it(workspace, template, smtp, django_capture_on_commit_callbacks):
    from tests.factories import ContactFactory

    contacts = ContactFactory.create_batch(3, workspace=workspace)
    ids = _queue(workspace, contacts, template, django_capture_on_commit_callbacks)
    OutboxMessage.objects.filter(pk=ids[1]).update(status="sending")  # another worker has it

    report = outbox_deliver(outbox_ids=ids)

    assert report.sent == 2 and len(smtp.messages) == 2
    assert dict(OutboxMessage.objects.values_list("id", "status")) == {
        uuid.UUID(ids[0]): "sent", uuid.UUID(ids[1]): "sending", uuid.UUID(ids[2]): "sent",
    }  # fmt: skip


@pytestmark_db
def test_server_closing_the_session_retries_that_row_and_reconnects_for_the_next(
    workspace, template, smtp, settings, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    settings.EMAIL_SMTP_CONNECTIONS = 1  # one lane, so the 421 reply goes to the first row
    contacts = ContactFactory.create_batch(2, workspace=workspace)
    first, second = _queue(workspace, contacts, template, django_capture_on_commit_callbacks)
    smtp.recorder.replies.append("421 4.3.2 Service shutting down")

    report = outbox_deliver(outbox_ids=[first, second])

    assert (report.retried, report.sent, report.unknown) == (1, 1, 0)
    statuses = dict(OutboxMessage.objects.values_list("id", "status"))
    assert statuses == {uuid.UUID(first): "queued", uuid.UUID(second): "sent"}
    assert [m.message["X-PenguinFlow-Message"] for m in smtp.messages] == [second]


@pytestmark_db
@pytest.mark.parametrize("group, unknown", [(20, 3), (1, 1)])
def test_worker_killed_mid_group_leaves_its_claimed_rows_unknown_and_sends_none_twice(
    group, unknown, workspace, template, smtp, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The window of EMAIL_CLAIM_GROUP: rows claimed with the one in hand cannot be told apart from it."""
    import templates.lanes as lanes
    from tests.factories import ContactFactory

    settings.EMAIL_CLAIM_GROUP = group
    settings.EMAIL_SMTP_CONNECTIONS = 1  # one lane: the kill comes right after the group's first hand-off
    ids = _queue(workspace, ContactFactory.create_batch(3, workspace=workspace), template,
                 django_capture_on_commit_callbacks)  # fmt: skip

    class WorkerKilled(BaseException):
        pass

    real_send = lanes.smtp_send

    def send_then_die(smtp_connection, wire):
        real_send(smtp_connection, wire)
        raise WorkerKilled

    monkeypatch.setattr(lanes, "smtp_send", send_then_die)
    with pytest.raises(WorkerKilled):
        outbox_deliver(outbox_ids=ids)
    monkeypatch.undo()

    claimed_at = OutboxMessage.objects.filter(status="sending").values_list("claimed_at", flat=True).first()
    report = outbox_sweep(now=claimed_at + timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS + 1))
    assert report.unknown == unknown
    outbox_deliver(outbox_ids=ids)  # the rest, if any, goes out; no unknown row goes out again
    assert len(smtp.messages) == 1 + (3 - unknown)
    assert len({m.message["Message-ID"] for m in smtp.messages}) == len(smtp.messages)


@pytestmark_db
def test_lanes_hand_a_group_over_on_several_connections_each_row_exactly_once(
    workspace, template, smtp, settings, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    settings.EMAIL_SMTP_CONNECTIONS = 4
    ids = _queue(workspace, ContactFactory.create_batch(30, workspace=workspace), template,
                 django_capture_on_commit_callbacks)  # fmt: skip

    report = outbox_deliver(outbox_ids=ids)

    assert report.sent == 30
    arrived = [m.message["X-PenguinFlow-Message"] for m in smtp.messages]
    assert sorted(arrived) == sorted(ids)  # every row once, none twice
    assert len({m.peer for m in smtp.messages}) > 1, "the rows went over more than one connection"
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}



@pytestmark_db
@pytest.mark.parametrize("keep_seconds, connections", [(60, 1), (0, 2)])
def test_a_workers_next_delivery_job_goes_over_the_connection_it_kept(
    keep_seconds, connections, workspace, template, smtp, settings, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    settings.EMAIL_SMTP_CONNECTIONS = 1
    settings.EMAIL_SMTP_KEEP_SECONDS = keep_seconds
    first, second = _queue(workspace, ContactFactory.create_batch(2, workspace=workspace), template,
                           django_capture_on_commit_callbacks)  # fmt: skip

    assert outbox_deliver(outbox_ids=[first]).sent == 1
    assert outbox_deliver(outbox_ids=[second]).sent == 1

    assert len({m.peer for m in smtp.messages}) == connections


@pytestmark_db
# The second needs SMTPUTF8, which wire_message does not write: Django's builder sends it (the API refuses such
# addresses, but a contact row may hold one).
@pytest.mark.parametrize("address", ["bob@example.com", "bøb@example.com"])
def test_a_kept_connection_the_server_dropped_sends_the_message_again_on_a_new_one(
    address, workspace, template, settings, django_capture_on_commit_callbacks
):
    """A server restarted between two jobs: the kept connection fails before anything was sent."""
    from tests.factories import ContactFactory
    from tests.templates.conftest import Recorder, free_port

    port = free_port()
    _deliver_to(settings, port)
    contacts = [ContactFactory(workspace=workspace, email="ada@example.com"),
                ContactFactory(workspace=workspace, email=address)]  # fmt: skip
    first, second = _queue(workspace, contacts, template, django_capture_on_commit_callbacks)
    before, after = Recorder(), Recorder()
    assert _deliver_through(before, port, [first]).sent == 1
    report = _deliver_through(after, port, [second])  # the same port, a new server

    assert (report.sent, report.unknown, report.retried) == (1, 0, 0)
    assert [m.message["X-PenguinFlow-Message"] for m in after.messages] == [second]
    assert OutboxMessage.objects.get(pk=second).status == "sent"
    assert before.messages[0].peer != after.messages[0].peer


def _deliver_through(handler, port: int, ids: list[str]):
    """Deliver `ids` to an aiosmtpd server with `handler` that listens on `port` for just that."""
    from aiosmtpd.controller import Controller

    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        return outbox_deliver(outbox_ids=ids)
    finally:
        server.stop()


def _deliver_to(settings, port: int) -> None:
    """Deliver over one plain SMTP lane to 127.0.0.1:`port`."""
    from tests.templates.conftest import use_plain_smtp

    use_plain_smtp(settings, port, timeout=5)
    settings.EMAIL_SMTP_CONNECTIONS = 1


class _ScriptedSmtp(threading.Thread):
    """A real SMTP server on a local port, speaking from a script (`session`) rather than a library, to play
    servers aiosmtpd cannot: one that hangs up at MAIL, one that answers only a pipelined envelope..."""

    greeting = b"220 scripted.test ESMTP\r\n"

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sessions = 0
        self.received: list[bytes] = []  # message contents that ended with "." (a server would deliver them)
        self.errors: list[str] = []  # what the script did not expect from the client

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.sessions += 1
            with conn, conn.makefile("rb") as lines, contextlib.suppress(OSError):
                conn.sendall(self.greeting)
                try:
                    self.session(conn, lines)
                except AssertionError as error:
                    self.errors.append(str(error))

    def session(self, conn, lines) -> None:
        raise NotImplementedError

    def content(self, lines) -> bytes | None:
        """Read a message's content; None when the client hung up before its end."""
        content = []
        for line in lines:
            if line == b".\r\n":
                return b"".join(content)
            content.append(line)
        return None

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the thread
        self.listener.close()
        self.join(5)


def _deliver_via(server: _ScriptedSmtp, settings, ids: list[str], *, jobs: int = 1) -> list:
    """Run `jobs` delivery jobs of `ids` against a scripted server, started for them and stopped after."""
    _deliver_to(settings, server.port)
    server.start()
    try:
        return [outbox_deliver(outbox_ids=ids) for _ in range(jobs)]
    finally:
        server.stop()


class _DropsAtMail(_ScriptedSmtp):
    """Greets, answers EHLO, and hangs up when MAIL comes."""

    def session(self, conn, lines) -> None:
        for line in lines:
            if not line.upper().startswith((b"EHLO", b"HELO")):
                return  # MAIL (or anything else): hang up
            conn.sendall(b"250 scripted.test\r\n")


class _AnswersOnlyPipelined(_ScriptedSmtp):
    """Offers PIPELINING and answers MAIL, RCPT and DATA only once all three have arrived: a client that waits
    for MAIL's reply before sending RCPT waits forever (until its timeout). `envelope` is what it answers."""

    envelope = (b"250 sender ok", b"250 recipient ok", b"354 go ahead")

    def session(self, conn, lines) -> None:
        while line := lines.readline():
            if line.upper().startswith(b"EHLO"):
                conn.sendall(b"250-scripted.test\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n")
            elif line.upper().startswith(b"MAIL"):
                commands = [line, lines.readline(), lines.readline()]
                assert commands[1].upper().startswith(b"RCPT") and commands[2].upper() == b"DATA\r\n", commands
                conn.sendall(b"".join(reply + b"\r\n" for reply in self.envelope))
                if self.envelope[2].startswith(b"354"):
                    content = self.content(lines)
                    if content is None:
                        return
                    self.received.append(content)
                    conn.sendall(b"250 queued\r\n" if self.envelope[1].startswith(b"25") else b"554 no recipients\r\n")
            elif line.upper().startswith(b"QUIT"):
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 ok\r\n")


class _HangsUpAfterContent(_ScriptedSmtp):
    """Takes a whole message and hangs up without a word: did it queue the message? Nobody can tell."""

    def session(self, conn, lines) -> None:
        for line in lines:
            if line.upper().startswith(b"DATA"):
                conn.sendall(b"354 go ahead\r\n")
                self.received.append(self.content(lines))
                return
            conn.sendall(b"250 scripted.test\r\n" if line.upper().startswith(b"EHLO") else b"250 ok\r\n")


@pytestmark_db
def test_a_connection_lost_before_the_content_was_sent_is_retried_not_unknown(
    workspace, contact, template, settings, django_capture_on_commit_callbacks
):
    server = _DropsAtMail()
    (message_id,) = _queue(workspace, [contact], template, django_capture_on_commit_callbacks)
    (report,) = _deliver_via(server, settings, [message_id])

    assert (report.retried, report.unknown, report.sent) == (1, 0, 0)
    row = OutboxMessage.objects.get(pk=message_id)
    assert (row.status, row.attempts) == ("queued", 1) and "SessionLost" in row.error
    assert server.sessions == 1  # a new connection that fails so is not tried again at once


@pytestmark_db
def test_a_server_offering_pipelining_gets_the_envelope_in_one_go(
    workspace, template, settings, django_capture_on_commit_callbacks
):
    from tests.factories import ContactFactory

    server = _AnswersOnlyPipelined()
    ids = _queue(workspace, ContactFactory.create_batch(3, workspace=workspace), template,
                 django_capture_on_commit_callbacks)  # fmt: skip
    (report,) = _deliver_via(server, settings, ids)

    assert (report.sent, report.unknown, report.retried) == (3, 0, 0)
    assert sorted(parse(content)["X-PenguinFlow-Message"] for content in server.received) == sorted(ids)
    assert server.sessions == 1


@pytestmark_db
@pytest.mark.parametrize("pipelining", [True, False])
def test_a_refused_recipient_fails_its_row_and_the_session_goes_on_with_the_next(
    pipelining, workspace, template, settings, django_capture_on_commit_callbacks
):

    from tests.factories import ContactFactory
    from tests.templates.conftest import Recorder, free_port

    class Refusing(Recorder):
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]] if pipelining else responses

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith(("refused", "later")):
                return "550 5.1.1 No such user" if address.startswith("refused") else "450 4.2.1 Try later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    port, recorder = free_port(), Refusing()
    _deliver_to(settings, port)
    contacts = [ContactFactory(workspace=workspace, email=f"{name}@example.com") for name in ("ada", "refused", "later", "bob")]
    ids = _queue(workspace, contacts, template, django_capture_on_commit_callbacks)
    report = _deliver_through(recorder, port, ids)

    assert (report.sent, report.failed, report.retried, report.unknown) == (2, 1, 1, 0)
    statuses = dict(OutboxMessage.objects.values_list("to_email", "status"))
    assert {email.split("<")[-1].rstrip(">"): status for email, status in statuses.items()} == {
        "ada@example.com": "sent", "refused@example.com": "failed", "later@example.com": "queued",
        "bob@example.com": "sent",
    }  # fmt: skip
    assert [m.rcpt_tos for m in recorder.messages] == [["ada@example.com"], ["bob@example.com"]]
    assert len({m.peer for m in recorder.messages}) == 1, "the refusals did not cost the connection"


@pytestmark_db
@pytest.mark.parametrize("limit, sent, retried, mails", [(1, 2, 0, 3), (0, 0, 1, 1)])
def test_a_session_the_server_ends_before_the_content_goes_on_at_once_only_after_it_carried_mail(
    limit, sent, retried, mails, workspace, template, settings, django_capture_on_commit_callbacks
):
    """A 421 to MAIL: a relay's messages-per-connection limit (after `limit` messages: go on at once on a new
    connection), or a server that asks us to back off (on a new connection: no second try now). Nothing of that
    row was sent either way."""
    from tests.factories import ContactFactory
    from tests.templates.conftest import Recorder, free_port

    class Limited(Recorder):
        mails: int = 0

        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            Limited.mails += 1
            session.carried = getattr(session, "carried", 0)
            if session.carried >= limit:
                return "421 4.7.0 Too many messages on this connection"
            session.carried += 1
            envelope.mail_from = address
            return "250 OK"

    port, recorder = free_port(), Limited()
    _deliver_to(settings, port)
    ids = _queue(workspace, ContactFactory.create_batch(2 if limit else 1, workspace=workspace), template,
                 django_capture_on_commit_callbacks)  # fmt: skip
    report = _deliver_through(recorder, port, ids)

    assert (report.sent, report.retried, report.unknown) == (sent, retried, 0)
    assert Limited.mails == mails and len(recorder.messages) == sent
    assert len({m.peer for m in recorder.messages}) == sent, "one session per message"


@pytestmark_db
def test_a_connection_lost_after_the_content_was_sent_leaves_the_row_unknown_and_sends_nothing_again(
    workspace, contact, template, settings, django_capture_on_commit_callbacks
):
    server = _HangsUpAfterContent()
    (message_id,) = _queue(workspace, [contact], template, django_capture_on_commit_callbacks)
    report, again = _deliver_via(server, settings, [message_id], jobs=2)

    assert (report.unknown, report.sent, report.retried) == (1, 0, 0) and again.sent == 0
    assert OutboxMessage.objects.get(pk=message_id).status == "unknown"
    assert len(server.received) == 1 and server.sessions == 1  # the server may have it; it is not sent twice


@pytestmark_db
@pytest.mark.parametrize(
    "envelope, status, ended",
    [
        ((b"250 sender ok", b"550 5.1.1 no such user", b"354 go ahead"), "failed", True),  # RFC 2920: end it
        ((b"451 4.3.0 try later", b"250 recipient ok", b"354 go ahead"), "queued", False),  # out of step: hang up
    ],
)
def test_a_refused_envelope_whose_data_the_server_took_anyway_delivers_nothing(
    envelope, status, ended, workspace, contact, template, settings, django_capture_on_commit_callbacks
):
    server = _AnswersOnlyPipelined()
    server.envelope = envelope
    (message_id,) = _queue(workspace, [contact], template, django_capture_on_commit_callbacks)
    (report,) = _deliver_via(server, settings, [message_id])

    assert (report.sent, report.unknown) == (0, 0) and server.errors == []
    assert OutboxMessage.objects.get(pk=message_id).status == status
    # Ended: the empty content went to a transaction without recipients. Not ended: no end of data at all.
    assert server.received == ([b""] if ended else [])


@pytestmark_db
def test_lanes_are_kept_only_after_a_job_that_ended_normally_and_only_for_smtp(settings):
    from templates.delivery import job_lanes

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_SMTP_KEEP_SECONDS = 60
    with job_lanes() as first:
        pass
    with job_lanes() as second:
        assert second is first  # kept
    with pytest.raises(RuntimeError), job_lanes() as third:
        assert third is first
        raise RuntimeError("cut mid-conversation")
    with job_lanes() as fourth:
        assert fourth is not first  # closed, never handed to the next job

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # not SMTP: not kept
    with job_lanes() as fifth:
        pass
    with job_lanes() as sixth:
        assert sixth is not fifth


def test_a_forked_child_forgets_the_lanes_its_parent_kept(settings):
    from templates.delivery import kept_lanes
    from templates.lanes import Lanes

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_SMTP_KEEP_SECONDS = 60
    lanes = Lanes(size=1)
    kept_lanes.give_back(lanes)
    assert kept_lanes.take() is lanes
    kept_lanes.give_back(lanes)

    pid = os.fork()
    if pid == 0:  # the child: its kept lanes (sockets, threads) would be the parent's
        os._exit(0 if kept_lanes.take() is not lanes else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert kept_lanes.take() is lanes  # the parent's are untouched
