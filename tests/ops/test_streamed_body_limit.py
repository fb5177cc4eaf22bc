"""A body over the limit is refused while it arrives, through the real ASGI application: neither a chunked body
without a Content-Length nor a Content-Length of gigabytes is read to the end (Django's handler would spool it all
to the disk before any middleware looked)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.hostile]
CHUNK = 256 * 1024
TIMEOUT = 30  # generous: a busy machine


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}


async def _answer(communicator) -> tuple[int, dict]:
    start = await communicator.receive_output(TIMEOUT)
    body = await communicator.receive_output(TIMEOUT)
    return start["status"], json.loads(body["body"])


def _application():
    from penguinflow.asgi import application

    return application


def test_a_chunked_body_is_refused_once_past_the_limit_without_waiting_for_its_end():
    async def scenario():
        communicator = ApplicationCommunicator(_application(), _scope("/api/v1/contacts", []))
        for _ in range(5):  # 1.25 MiB of a body that never ends: the limit is 1 MiB
            await communicator.send_input({"type": "http.request", "body": b" " * CHUNK, "more_body": True})
        status, body = await _answer(communicator)
        assert status == 413 and body["error"]["code"] == "payload_too_large", body
        assert body["error"]["details"] == {"limit_bytes": 1024 * 1024}

    async_to_sync(scenario)()


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read():
    async def scenario():
        communicator = ApplicationCommunicator(
            _application(), _scope("/api/v1/workflows", [(b"content-length", b"10000000000")]))
        status, body = await _answer(communicator)  # nothing was sent: the answer cannot have waited for it
        assert status == 413 and "10000000000 bytes" in body["error"]["message"]

    async_to_sync(scenario)()


def test_a_body_within_the_limit_reaches_the_application():
    async def scenario():
        communicator = ApplicationCommunicator(_application(), _scope("/api/v1/nowhere", []))
        await communicator.send_input({"type": "http.request", "body": b"{}" * CHUNK, "more_body": True})
        await communicator.send_input({"type": "http.request", "body": b"{}", "more_body": False})
        status, body = await _answer(communicator)
        assert status == 404 and body["error"]["code"] == "not_found"

    async_to_sync(scenario)()
