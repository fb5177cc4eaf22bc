"""The body-size cap in front of Django's ASGI handler, which reads a whole body before any middleware runs.

Django's handler spools every body to a temporary file first (memory, then disk) and only then builds the request
that BodySizeLimitMiddleware looks at; a body sent in chunks, without a Content-Length, or a Content-Length of
gigabytes, would be written to the disk in full before the 413. This wrapper counts the bytes as they arrive and
answers 413 in the contract's format as soon as the path's limit is passed (or at once, for a Content-Length over
it), reading nothing more; the connection is closed. Django offers no streaming limit (DATA_UPLOAD_MAX_MEMORY_SIZE
is checked when a view reads the body, after the spooling), hence this.
"""

from __future__ import annotations

import json

from penguinflow.common.errors import error_body
from penguinflow.common.middleware import BodySizeLimitMiddleware


class _OverLimit(Exception):
    pass


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # BodySizeLimitMiddleware answers it with a 400
    return None


class StreamedBodyLimit:
    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        limit = BodySizeLimitMiddleware.limit_for(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            return await _refuse(send, limit, f"The request body is {declared} bytes")
        received, answered = 0, False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _OverLimit
            return message

        async def watched_send(message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.application(scope, counted_receive, watched_send)
        except _OverLimit:
            if not answered:  # a view that streams its answer while it reads: nothing more can be said
                await _refuse(send, limit, f"The request body is over {limit} bytes")


async def _refuse(send, limit: int, said: str) -> None:
    body = json.dumps(error_body("payload_too_large", f"{said}; this endpoint takes at most {limit} bytes.",
                                 {"limit_bytes": limit})).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
