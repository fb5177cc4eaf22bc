"""Real HTTP servers on 127.0.0.1 (threads) speaking the subsets of the LinkedIn Posts API, X API v2 and the
Facebook Graph API that social_post uses, the way those APIs answer: a token they do not know is refused in each
network's own shape (a 401 on LinkedIn and X, a 400 with OAuthException code 190 on Facebook), a page the token may
not post to is a 403 (LinkedIn) or code 200 (Facebook), X refuses a duplicate with a 403, and a test can script a
run of rate limits (with each network's headers) or of 5xx before the next answers.

The commercial APIs are the one thing that cannot run here; this is the HTTP boundary, and nothing inside the code
is mocked."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from connectors.social.limits import post_length
from tests.webhook_receiver import http_serving

TOKEN = "good-token-0123456789"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SocialServer:
    """One network's API. ``script`` holds answers given before the real behaviour (rate limits, 5xx), in turn."""

    network: str
    url: str = ""
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    # The pages (LinkedIn organizations, Facebook page ids) the token may post to.
    pages: set[str] = field(default_factory=lambda: {"1001"})
    script: list[Reply] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(7_000_000_001))

    def rate_limit(self, times: int = 1, *, reset_in_s: int = 60) -> None:
        """Answer the next ``times`` posts with a 429 in the network's shape, the window resetting in ``reset_in_s``."""
        for _ in range(times):
            if self.network == "x":
                reply = Reply(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
                              {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                               "x-rate-limit-reset": str(int(time.time()) + reset_in_s)})
            elif self.network == "facebook":
                reply = Reply(400, {"error": {"message": "(#32) Page request limit reached", "type": "OAuthException",
                                              "code": 32}}, {"Retry-After": str(reset_in_s)})
            else:
                reply = Reply(429, {"status": 429, "message": "Resource level throttle limit reached"},
                              {"Retry-After": str(reset_in_s)})
            self.script.append(reply)

    def fail(self, status: int = 503, times: int = 1) -> None:
        self.script += [Reply(status, {"message": "Service Unavailable"}) for _ in range(times)]

    def answer(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            if self.script:
                return self.script.pop(0)
        return getattr(self, f"_{self.network}")(request)

    def _token_ok(self, request: Request) -> bool:
        return request.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens

    def _published(self, post: dict[str, Any]) -> str:
        with self.lock:
            post_id = str(next(self._ids))
            self.posts.append({**post, "id": post_id})
        return post_id

    def _linkedin(self, request: Request) -> Reply:
        if (request.method, request.path) != ("POST", "/rest/posts"):
            return Reply(404, {"status": 404, "message": "No resource found"})
        if not self._token_ok(request):
            return Reply(401, {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
                               "message": "The token used in the request has been revoked by the user"})
        if not request.headers.get("LinkedIn-Version") or request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return Reply(400, {"status": 400, "message": "A version header is required"})
        post = request.json()
        organization = post["author"].removeprefix("urn:li:organization:")
        if organization not in self.pages:
            return Reply(403, {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                               "message": f"Not enough permissions to create a post as {post['author']}"})
        if len(post["commentary"]) > 3000:
            return Reply(422, {"status": 422, "message": "commentary is longer than 3000 characters"})
        urn = f"urn:li:share:{self._published(post)}"
        return Reply(201, None, {"x-restli-id": urn})

    def _x(self, request: Request) -> Reply:
        if (request.method, request.path) != ("POST", "/2/tweets"):
            return Reply(404, {"title": "Not Found Error", "status": 404})
        if not self._token_ok(request):
            return Reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                               "detail": "Unauthorized"})
        text = request.json()["text"]
        if post_length("x", text) > 280:
            return Reply(400, {"title": "Invalid Request", "detail": "Tweet text is too long.", "status": 400})
        if any(post["text"] == text for post in self.posts):
            return Reply(403, {"title": "Forbidden", "status": 403,
                               "detail": "You are not allowed to create a Tweet with duplicate content."})
        post_id = self._published({"text": text})
        return Reply(201, {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}})

    def _facebook(self, request: Request) -> Reply:
        parts = request.path.strip("/").split("/")
        if request.method != "POST" or len(parts) != 3 or parts[0] != "v19.0" or parts[2] != "feed":
            return Reply(400, {"error": {"message": "Unknown path components", "type": "OAuthException",
                                         "code": 2500}})
        if not self._token_ok(request):
            return Reply(400, {"error": {"message": "Error validating access token: Session has expired.",
                                         "type": "OAuthException", "code": 190, "error_subcode": 463}})
        if parts[1] not in self.pages:
            return Reply(403, {"error": {"message": "(#200) The user hasn't authorized the application to "
                                                    "perform this action", "type": "OAuthException", "code": 200}})
        form = request.form()
        post_id = f"{parts[1]}_{self._published(form)}"
        return Reply(200, {"id": post_id})


def _handler(server: SocialServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            reply = server.answer(request)
            body = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args) -> None:
            pass

    return Handler


@contextlib.contextmanager
def social_server(network: str) -> Iterator[SocialServer]:
    """Serve ``network``'s API (linkedin, x, facebook) on a free port of 127.0.0.1."""
    api = SocialServer(network)
    with http_serving(_handler(api)) as url:
        api.url = url
        yield api
