"""A local stand-in for Twilio's Messages API (the subset `sms.backends.TwilioBackend` speaks), for tests and the
SMS bench: an asyncio HTTP/1.1 server with keep-alive in a thread of the caller's process.

`POST /2010-04-01/Accounts/{sid}/Messages.json` (basic auth with the account's sid and token; To, From or
MessagingServiceSid, Body, StatusCallback, form-encoded) answers 201 with the message's JSON, as Twilio does;
a `To` that is not E.164 gets Twilio's 400 with error 21211. With `callbacks` it then posts the status
callbacks (e.g. "sent", "delivered") to the message's StatusCallback, signed with `X-Twilio-Signature` as Twilio
signs them. `script` answers the next requests with given statuses, and `hold` keeps answers back until set (a
provider that took the request and has not answered yet); `on_accepted` is called once a message is taken, before
its answer (a fault a test inflicts at that moment).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class Received:
    sid: str
    to: str
    sender: str
    body: str
    callback: str
    at: float


@dataclass
class TwilioServer:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token"
    callbacks: tuple[str, ...] = ()
    script: list[tuple[int, dict]] = field(default_factory=list)  # the next answers, in turn
    hold: threading.Event | None = None
    on_accepted: Callable[[], None] | None = None
    messages: list[Received] = field(default_factory=list)
    callbacks_posted: list[tuple[str, str, int]] = field(default_factory=list)  # (url, status, answer)
    requests: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._auth = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        self._path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        self._poster: threading.Thread | None = None
        self._to_post: list[tuple[str, dict]] = []
        self._post_ready = threading.Condition()

    @property
    def url(self) -> str:
        """The SMS_URL that points the backend here."""
        return f"twilio+http://{self.account_sid}:{self.auth_token}@127.0.0.1:{self.port}"

    # -- serving -------------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, answer = self._answer(method, path, headers, body)
                if self.hold is not None:
                    await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 60)
                data = json.dumps(answer).encode()
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (status, len(data), data)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        with self.lock:
            self.requests += 1
            if self.script:
                return self.script.pop(0)
        if method != "POST" or path != self._path:
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        if headers.get("authorization") != self._auth:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        to = form.get("To", "")
        if not _E164.match(to):
            return 400, {
                "code": 21211,
                "message": f"The 'To' number {to} is not a valid phone number.",
                "status": 400,
            }
        sid = "SM" + uuid.uuid4().hex
        received = Received(sid, to, form.get("From") or form.get("MessagingServiceSid", ""), form.get("Body", ""),
                            form.get("StatusCallback", ""), time.time())  # fmt: skip
        with self.lock:
            self.messages.append(received)
        if self.on_accepted is not None:
            self.on_accepted()
        if self.callbacks and received.callback:
            self._queue_callbacks(received)
        return 201, {"sid": sid, "account_sid": self.account_sid, "to": to, "from": received.sender,
                     "body": received.body, "status": "queued", "num_segments": "1"}  # fmt: skip

    # -- status callbacks ----------------------------------------------------------------------------------
    def _queue_callbacks(self, message: Received) -> None:
        for status in self.callbacks:
            params = {
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "AccountSid": self.account_sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "To": message.to,
                "From": message.sender,
            }
            with self._post_ready:
                self._to_post.append((message.callback, params))
                self._post_ready.notify()

    def _post_forever(self) -> None:
        while True:
            with self._post_ready:
                while not self._to_post:
                    self._post_ready.wait()
                url, params = self._to_post.pop(0)
            self.post_signed(url, params)

    def post_signed(self, url: str, params: dict[str, str], *, signature: str | None = None) -> int:
        """POST `params` to `url` signed as Twilio signs (or with the given `signature`); return the status."""
        signed = signature if signature is not None else twilio_sign(self.auth_token, url, params.items())
        request = urllib.request.Request(
            url,
            data=urlencode(params).encode(),
            method="POST",
            headers={"X-Twilio-Signature": signed, "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        with self.lock:
            self.callbacks_posted.append((url, params.get("MessageStatus", ""), status))
        return status

    # -- life ----------------------------------------------------------------------------------------------
    def _run(self) -> None:
        async def main() -> None:
            server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=2048)
            self.port = server.sockets[0].getsockname()[1]
            self.ready.set()
            async with server:
                await server.serve_forever()

        self.loop = asyncio.new_event_loop()
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(main())

    def start(self) -> TwilioServer:
        threading.Thread(target=self._run, daemon=True, name="twilio-stand-in").start()
        # Always there: a test may ask for callbacks after the server started.
        self._poster = threading.Thread(target=self._post_forever, daemon=True, name="twilio-callbacks")
        self._poster.start()
        if not self.ready.wait(10):
            raise RuntimeError("the Twilio stand-in did not start")
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self.loop is None:
            return

        async def cancel_all() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=10)


def twilio_sign(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """X-Twilio-Signature, written here from Twilio's documentation (not imported from the code under test)."""
    payload = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()
