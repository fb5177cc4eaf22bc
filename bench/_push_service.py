"""A local web-push service (what a browser vendor runs) for the push tests and bench: an asyncio HTTPS server.

It hands out browser subscriptions (`browser()`: an endpoint on it and the keys a real browser would make), and
for every message posted to an endpoint it checks the VAPID header (RFC 8292: an ES256 JWT whose `aud` is its
own origin, `exp` in the future, a `sub`, signed by the key in `k`) and decrypts the body with that browser's
private key and auth secret (RFC 8291, aes128gcm, `http_ece`). What arrives is kept in `received`; an endpoint
can be told to answer another status (410: the subscription expired) or to hold its answer (`hold`);
`on_accepted` is called once a message has arrived, before its answer (a fault a test inflicts at that moment).

TLS with a self-signed certificate for 127.0.0.1 (`ca_file` is what PUSH_CA_CERTS must name), as push services
are only reached over https.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import os
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from py_vapid import jwt as vapid_jwt


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def self_signed(folder: str) -> tuple[str, str]:
    """Write a certificate and key for 127.0.0.1 (and localhost) into `folder`; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = os.path.join(folder, "push-cert.pem"), os.path.join(folder, "push-key.pem")
    with open(cert_path, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@dataclass
class Browser:
    """One subscription, as a browser holds it: its endpoint id and the keys only it knows."""

    id: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    def public_key(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))  # fmt: skip


@dataclass
class Message:
    browser: str
    payload: dict[str, Any]
    claims: dict[str, Any]
    vapid_key: str
    headers: dict[str, str]
    at: float


@dataclass
class Refusal:
    browser: str
    reason: str


@dataclass
class PushService:
    """Start it with `start()` (a thread of this process) or run `serve_forever()` in a process of its own."""

    received: list[Message] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # browser id -> status to answer instead of 201
    hold: threading.Event | None = None  # when set to an unset Event: answer nothing until it is set
    on_accepted: Callable[[], None] | None = None
    port: int = 0
    record_payloads: bool = True

    def __post_init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.folder = tempfile.mkdtemp(prefix="pf-push-")
        self.ca_file, self._key_file = self_signed(self.folder)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.arrivals = 0
        self._tokens: dict[str, dict[str, Any]] = {}  # verified JWTs (the same one comes with every message)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def browser(self) -> dict[str, Any]:
        """Make a subscription as a browser would; return its `PushSubscription.toJSON()`."""
        browser = Browser(
            id=secrets.token_urlsafe(12),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=secrets.token_bytes(16),
        )
        self.browsers[browser.id] = browser
        return {
            "endpoint": f"{self.origin}/push/{browser.id}",
            "keys": {"p256dh": browser.public_key(), "auth": b64url(browser.auth)},
        }

    def add_browsers(self, browsers: list[tuple[str, bytes, bytes]]) -> None:
        """Know browsers made elsewhere: (id, private key in PEM, auth secret) each (the bench makes them)."""
        for browser_id, pem, auth in browsers:
            key = serialization.load_pem_private_key(pem, password=None)
            self.browsers[browser_id] = Browser(id=browser_id, private_key=key, auth=auth)  # type: ignore[arg-type]

    def messages_for(self, subscription: dict[str, Any]) -> list[Message]:
        browser = subscription["endpoint"].rsplit("/", 1)[-1]
        return [message for message in self.received if message.browser == browser]

    # --- HTTP

    def _check_vapid(self, authorization: str) -> tuple[dict[str, Any], str]:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError("the Authorization scheme is not 'vapid'")
        parts = dict(part.strip().split("=", 1) for part in rest.split(","))
        token, key = parts["t"], parts["k"]
        claims = self._tokens.get(token + key)
        if claims is None:
            claims = vapid_jwt.decode(token, key)  # raises InvalidSignature when the signature is not k's
            header = json.loads(_unb64url(token.split(".")[0]))
            if header.get("alg") != "ES256":
                raise ValueError("the JWT is not ES256")
            self._tokens[token + key] = claims
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.origin}")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise ValueError("exp is missing or past")
        if claims["exp"] > time.time() + 24 * 3600:
            raise ValueError("exp is more than 24 hours ahead")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError("sub is not a mailto: or https: URL")
        return claims, key

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        browser_id = path.rsplit("/", 1)[-1]
        browser = self.browsers.get(browser_id)
        if browser is None or not path.startswith("/push/"):
            return 404
        if browser_id in self.answers:
            return self.answers[browser_id]
        try:
            claims, key = self._check_vapid(headers.get("authorization", ""))
            if headers.get("content-encoding") != "aes128gcm":
                raise ValueError("Content-Encoding is not aes128gcm")
            if "ttl" not in headers:
                raise ValueError("no TTL header")
            plain = http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth,
                                     version="aes128gcm")  # fmt: skip
            payload = json.loads(plain)
        except Exception as error:
            self.refused.append(Refusal(browser_id, f"{type(error).__name__}: {error}"))
            return 400 if not isinstance(error, (KeyError,)) else 401
        self.received.append(
            Message(
                browser_id,
                payload if self.record_payloads else {"id": payload.get("id")},
                claims,
                key,
                headers if self.record_payloads else {},
                time.time(),
            )
        )
        self.arrivals += 1
        if self.on_accepted is not None:
            self.on_accepted()
        return 201

    def answer_headers(self, status: int) -> dict[str, str]:
        """Headers to send with an answer of `status` (none here; a stand-in that throttles adds Retry-After)."""
        return {}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                status = self._handle(path, headers, body)
                # Held after the message is recorded: it has arrived, its sender just never hears so.
                if self.hold is not None:
                    while not self.hold.is_set():
                        await asyncio.sleep(0.01)
                reason = {201: "Created", 404: "Not Found", 410: "Gone"}.get(status, "Status")
                extra = "".join(f"{name}: {value}\r\n" for name, value in self.answer_headers(status).items())
                writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n{extra}\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _main(self, port: int) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, self._key_file)
        server = await asyncio.start_server(self._serve, "127.0.0.1", port, ssl=context, backlog=2048)
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        async with server:
            await server.serve_forever()

    def serve_forever(self, port: int = 0) -> None:
        self.loop = asyncio.new_event_loop()
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self._main(port))

    def start(self) -> PushService:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        if not self.ready.wait(10):
            raise RuntimeError("the local push service did not start")
        return self

    def stop(self) -> None:
        if self.loop is None:
            return

        async def cancel_all() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=10)
