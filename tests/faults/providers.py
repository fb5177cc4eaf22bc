"""Providers that misbehave on cue, for the fault tests: an SMTP server (aiosmtpd), a Twilio-shaped SMS API, the
push service and an HTTP endpoint (a webhook receiver, an API), each on a fixed port so that it can be down (not
listening: connection refused) and come up again where the workers expect it. Once up, each answers its requests
from a script, in turn ("slow", a status, or a status with Retry-After; the endpoint also "hang"), then normally;
and each records every request, with its time, by recipient (the endpoint: by idempotency key).
"""

from __future__ import annotations

import asyncio
import json
import select
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from aiosmtpd.controller import Controller

from bench._push_service import PushService

SLOW_SECONDS = 3.0  # a slow answer: well past a healthy one, well inside the clients' timeouts (15 s, 30 s)
STALL = 120.0  # fail when nothing moves (no attempt, no message settled) for this long: slow is not broken
HANG_LIMIT_S = 60.0  # a hanging answer ends when the client gives up (its timeout), or after this at most


def wait_while_progressing(done, progress, *, what: str, state) -> None:
    """Wait for `done()` as long as `progress()` keeps growing (or is None: waiting is expected); fail naming
    `what` after STALL s without."""
    best, moved_at = -1, time.monotonic()
    while not done():
        now, current = time.monotonic(), progress()
        if current is None:
            moved_at = now
        elif current > best:
            best, moved_at = current, now
        elif now - moved_at > STALL:
            raise AssertionError(f"nothing moved for {STALL:.0f} s waiting for {what}: {state()}")
        time.sleep(0.2)


@dataclass(frozen=True)
class Answered:
    at: float  # time.time() when the answer was decided (a hanging one: when the client gave up)
    recipient: str
    answer: str  # "ok", "slow", "hang", or the status sent ("451", "500", "429", ...)
    retry_after: float | None = None
    arrived: float | None = None  # time.time() when the request arrived (recorded by the HTTP endpoint)


class Recorded:
    """What a provider answered, by recipient; the messages it accepted, by recipient."""

    def __init__(self, script: list) -> None:
        self.lock = threading.Lock()
        self.script = list(script)
        self.answers: dict[str, list[Answered]] = defaultdict(list)
        self.delivered: Counter[str] = Counter()

    def next_answer(self) -> tuple[str, float | None]:
        with self.lock:
            entry = self.script.pop(0) if self.script else "ok"
        return entry if isinstance(entry, tuple) else (entry, None)

    def record(
        self, recipient: str, answer: str, retry_after: float | None = None, *, accepted: bool,
        arrived: float | None = None,
    ) -> None:
        with self.lock:
            self.answers[recipient].append(Answered(time.time(), recipient, answer, retry_after, arrived))
            if accepted:
                self.delivered[recipient] += 1

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(answer.answer for answers in self.answers.values() for answer in answers)


class PhasedSmtp(Recorded):
    """An SMTP server: refuses `refused` recipients for good (550 at RCPT); answers each DATA from the script
    ("slow": 250 after SLOW_SECONDS, or an SMTP reply such as "451 4.7.1 Try again later"), then 250."""

    def __init__(self, port: int, script: list, refused: set[str]) -> None:
        super().__init__(script)
        self.port, self.refused, self.controller = port, refused, None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            self.record(address, "550", accepted=False)
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        recipient = envelope.rcpt_tos[0]
        message_id = message_from_bytes(envelope.original_content)["Message-ID"].strip()
        answer, _ = self.next_answer()
        if answer == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        accepted = answer in ("ok", "slow")
        self.record(f"{recipient} {message_id}", answer if accepted else answer[:3], accepted=accepted)
        return "250 OK" if accepted else answer

    def up(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class PhasedTwilio(Recorded):
    """Twilio's Messages API (its 201 answer with a sid), answering from the script: "slow" (201 after
    SLOW_SECONDS), a status (500, 503), or (429, seconds) with a Retry-After header; recipients are the "To"."""

    account_sid = "AC" + "0" * 32
    auth_token = "fault-token"

    def __init__(self, port: int, script: list) -> None:
        super().__init__(script)
        self.port, self.server = port, None

    @property
    def url(self) -> str:
        return f"twilio+http://{self.account_sid}:{self.auth_token}@127.0.0.1:{self.port}"

    def up(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                to = dict(parse_qsl(body.decode())).get("To", "")
                answer, retry_after = provider.next_answer()
                if answer == "slow":
                    time.sleep(SLOW_SECONDS)
                accepted = answer in ("ok", "slow")
                provider.record(to, str(answer), retry_after, accepted=accepted)
                status, document = (
                    (201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued"})
                    if accepted
                    else (
                        int(answer),
                        {"code": 20500 if answer != 429 else 20429, "message": f"answered {answer}"},
                    )
                )
                _answer_json(self, status, document, retry_after)

            def log_message(self, *args) -> None:  # the test prints its own figures
                pass

        self.server = _serve(self.port, Handler)

    def down(self) -> None:
        self.server = _stopped(self.server)


class PhasedPush(PushService):
    """The local push service (bench/_push_service.py: VAPID checked, every message decrypted) on a fixed port,
    answering from the script first: "slow" (answers held for SLOW_SECONDS, without blocking the others), a
    status (500), or (429, seconds) with a Retry-After header. Recipients are the browsers' ids."""

    def __init__(self, port: int, script: list) -> None:
        super().__init__(port=port)
        self.recorded = Recorded(script)
        self._retry_after: dict[int, float] = {}

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        browser = path.rsplit("/", 1)[-1]
        answer, retry_after = self.recorded.next_answer()
        if answer not in ("ok", "slow"):
            if retry_after is not None:
                self._retry_after[int(answer)] = retry_after
            self.recorded.record(browser, str(answer), retry_after, accepted=False)
            return int(answer)
        if answer == "slow":
            self.hold = threading.Event()  # the answers of this moment wait (asynchronously) until it is set
            threading.Timer(SLOW_SECONDS, self.hold.set).start()
        status = super()._handle(path, headers, body)
        self.recorded.record(browser, answer if status == 201 else str(status), accepted=status == 201)
        return status

    def answer_headers(self, status: int) -> dict[str, str]:
        seconds = self._retry_after.get(status)
        return {"Retry-After": str(int(seconds))} if seconds is not None else {}

    def up(self) -> None:
        threading.Thread(target=self.serve_forever, args=(self.port,), daemon=True).start()
        if not self.ready.wait(10):
            raise RuntimeError("the push service did not start")

    def down(self) -> None:
        self.stop()


class PhasedEndpoint(Recorded):
    """An HTTP endpoint (a webhook receiver, an API), HTTP/1.1 with kept-alive connections, answering each request
    from the script: "slow" (200 after `slow_s`), "hang" (no answer at all: the request is held until the client
    gives up and closes the connection), a status (500), or (429, seconds) with a Retry-After header; then 200
    with `{"received": key}`. Requests are recorded by their `key_header` (webhook-id, Idempotency-Key), with when
    they arrived; a key "delivered" is one answered 2xx."""

    def __init__(self, port: int, script: list, *, key_header: str, slow_s: float) -> None:
        super().__init__(script)
        self.port, self.key_header, self.slow_s, self.server = port, key_header, slow_s, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        self.server = _serve(self.port, _endpoint_handler(self))

    def down(self) -> None:
        self.server = _stopped(self.server)


def _answer_json(handler: BaseHTTPRequestHandler, status: int, document: dict, retry_after: float | None) -> None:
    data = json.dumps(document).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    if retry_after is not None:
        handler.send_header("Retry-After", str(int(retry_after)))
    handler.end_headers()
    handler.wfile.write(data)


def _serve(port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Listen on 127.0.0.1:`port` with `handler`, a thread a request (a slow answer holds up no other)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _stopped(server: ThreadingHTTPServer | None) -> None:
    """Stop `server` (nothing listens on its port any more: connections are refused); return None."""
    if server is not None:
        server.shutdown()
        server.server_close()


def _endpoint_handler(endpoint: PhasedEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            arrived = time.time()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get(endpoint.key_header, "")
            answer, retry_after = endpoint.next_answer()
            if answer == "hang":
                self._hold_until_the_client_gives_up()
                endpoint.record(key, "hang", accepted=False, arrived=arrived)
                return
            if answer == "slow":
                time.sleep(endpoint.slow_s)
            accepted = answer in ("ok", "slow")
            status = 200 if accepted else int(answer)
            document = {"received": key} if accepted else {"error": f"answered {status}"}
            endpoint.record(key, answer if accepted else str(status), retry_after, accepted=accepted,
                            arrived=arrived)
            _answer_json(self, status, document, retry_after)

        def _hold_until_the_client_gives_up(self) -> None:
            """Answer nothing: wait for the client to close the connection (its timeout), then close ours."""
            self.close_connection = True
            deadline = time.monotonic() + HANG_LIMIT_S
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([self.connection], [], [], left)
                try:
                    if readable and not self.connection.recv(4096):
                        return  # the client closed
                except OSError:
                    return

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, *args) -> None:  # the test prints its own figures
            pass

    return Handler
