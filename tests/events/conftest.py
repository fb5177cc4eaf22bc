"""Fixtures of the events tests: a recording engine gateway, a clean test Redis database, a JSON poster."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import pytest

from events.gateway import EventRecord
from workflows.enrollment_starts import Entry
from workflows.entry_path import event_entries


class RecordingGateway:
    """Records what processing hands to the engine, and the entries the runtime finds in it, without starting
    them (class-level, so every built instance shares it)."""

    calls: list[tuple[list[EventRecord], list[tuple[UUID, Entry]]]] = []
    fail_next = False

    def process(self, *, events: Sequence[EventRecord], now: datetime) -> None:
        if RecordingGateway.fail_next:
            RecordingGateway.fail_next = False
            raise RuntimeError("the engine failed")
        RecordingGateway.calls.append((list(events), self.entries(events, now)))

    def count_entries(self, *, events: Sequence[EventRecord], now: datetime) -> int:
        return len(self.entries(events, now))

    def unreacted(self, *, workspace_id: UUID, events: Sequence) -> list[bool]:
        return [False] * len(events)  # every event is handed over, so that the tests see them all

    @staticmethod
    def entries(events: Sequence[EventRecord], now: datetime) -> list[tuple[UUID, Entry]]:
        found = event_entries(events, now=now)
        return [(version_id, entry) for version_id, entries in found.by_version.items() for entry in entries]

    @classmethod
    def event_ids(cls) -> list[int]:
        return [event.id for events, _ in cls.calls for event in events]

    @classmethod
    def matches(cls) -> list[tuple[UUID, Entry]]:
        """Return (version id, entry) of every entry the handed events offered."""
        return [match for _, matches in cls.calls for match in matches]


@pytest.fixture
def gateway(settings):
    settings.ENGINE_GATEWAY = "tests.events.conftest.RecordingGateway"
    RecordingGateway.calls = []
    RecordingGateway.fail_next = False
    yield RecordingGateway
    RecordingGateway.calls = []


@pytest.fixture
def redis_db():
    """The test run's own Redis database (test settings pick one of 1-15), emptied before and after the test."""
    import os

    from penguinflow.common.redis_client import redis_client

    client = redis_client()
    database = client.connection_pool.connection_kwargs.get("db")
    assert database == int(os.environ["PENGUINFLOW_TEST_REDIS_DB"]) != 0, "tests only ever flush their own db"
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(autouse=True)
def _fresh_trigger_index():
    from workflows import trigger_index

    trigger_index._cache.reset()
    yield
    trigger_index._cache.reset()


@pytest.fixture
def post(api):
    """POST a body (a Python value, or raw bytes) to /api/v1/events with the workspace's key."""

    def send(body, **extra):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return api.generic("POST", "/api/v1/events", data, content_type="application/json", **extra)

    return send
