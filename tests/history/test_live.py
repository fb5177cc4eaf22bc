"""The history's websockets through the real ASGI stack (session auth, origin check, routes): refusals at the
handshake, the hello snapshot, workspace isolation, coalescing of bursts, updates from the runtime, reconnects,
and one run on channels-redis with the real Redis."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import Client

from tests.factories import ContactFactory
from tests.history.conftest import Failing
from tests.history.websocket_client import WebsocketCommunicator
from tests.workflows.builders import run_due
from workflows import live_updates
from workflows.consumers import INTERVAL
from workflows.models import Enrollment

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")  # what a browser always sends: the origin check compares the two
TIMEOUT = 30  # generous: a busy machine


def _application():
    from penguinflow.asgi import application

    return application


@pytest.fixture
def cookie(workspace, django_user_model):
    from penguinflow.workspaces.models import Membership

    user = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw")
    Membership.objects.create(user=user, workspace=workspace)
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def _socket(path: str, *headers) -> WebsocketCommunicator:
    return WebsocketCommunicator(_application(), path, headers=[HOST, *headers])


async def _messages_until(socket, done, timeout=TIMEOUT):
    """Receive until `done(messages)`; return them."""
    messages = []
    try:
        async with asyncio.timeout(timeout):
            while not done(messages):
                messages.append(await socket.receive_json_from(timeout=timeout))
    except TimeoutError:
        raise AssertionError(f"still waiting after {len(messages)} messages: {messages[-3:]}") from None
    return messages


def test_refusals_happen_at_the_handshake_with_a_code(workspace, other_workspace, cookie, django_user_model):
    mine = Failing(workspace).workflow
    other = Failing(other_workspace)
    theirs = other.workflow
    other.enroll(ContactFactory(workspace=other_workspace))
    their_execution = Enrollment.objects.get(workflow=theirs)
    loner = django_user_model.objects.create_user("loner", "loner@example.com", "pw")  # a member of no workspace
    client = Client()
    client.force_login(loner)
    loner_cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())

    async def scenario():
        cases = [
            (f"/ws/workflows/{mine.pk}/", [ORIGIN], 4401),  # no session
            (f"/ws/executions/{their_execution.pk}/", [ORIGIN], 4401),
            ("/ws/workspace/", [ORIGIN], 4401),
            (f"/ws/workflows/{mine.pk}/", [ORIGIN, loner_cookie], 4403),  # logged in, of no workspace
            ("/ws/workspace/", [ORIGIN, loner_cookie], 4403),
            (f"/ws/workflows/{theirs.pk}/", [ORIGIN, cookie], 4404),  # another workspace's
            (f"/ws/executions/{their_execution.pk}/", [ORIGIN, cookie], 4404),
            ("/ws/workflows/not-a-uuid/", [ORIGIN, cookie], 4404),
            (f"/ws/executions/{mine.pk}/", [ORIGIN, cookie], 4404),  # not an execution id
            ("/ws/nowhere/", [ORIGIN, cookie], 4404),
        ]
        for path, headers, code in cases:
            connected, closed_with = await _socket(path, *headers).connect(timeout=TIMEOUT)
            assert (connected, closed_with) == (False, code), path
        for path in (f"/ws/workflows/{mine.pk}/", "/ws/workspace/"):
            for origin in ([(b"origin", b"https://evil.example")], [(b"origin", b"http://testserver:3000")], []):
                # another site, another port of this host (the cookie goes to every port), or no origin said
                foreign, _ = await _socket(path, *origin, cookie).connect(timeout=TIMEOUT)
                assert not foreign, (path, origin)

    async_to_sync(scenario)()


def test_hello_then_the_runtime_s_steps_arrive_after_commit(workspace, cookie):
    failing = Failing(workspace)
    contact = ContactFactory(workspace=workspace)

    async def scenario():
        socket = _socket(f"/ws/workflows/{failing.workflow.pk}/", ORIGIN, cookie)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        hello = await socket.receive_json_from(timeout=TIMEOUT)
        assert hello["type"] == "hello" and hello["workflow"] == str(failing.workflow.pk)
        assert hello["analytics"]["enrollments"]["failed"] == 0
        await database_sync_to_async(failing.enroll)(contact)
        await database_sync_to_async(run_due)()
        failed = await database_sync_to_async(lambda: str(Enrollment.objects.get(contact=contact).pk))()

        def seen_failure(messages):
            return any(m.get("executions", {}).get(failed) == "failed" for m in messages)

        messages = await _messages_until(socket, seen_failure)
        assert {m["type"] for m in messages} == {"counts"}
        deltas = [m["deltas"] for m in messages]
        assert sum(d.get("node.c.failed", 0) for d in deltas) == 1
        await socket.disconnect()

    async_to_sync(scenario)()


def _burst(versions_and_ids, changes: int, per_commit: int = 10) -> None:
    """`changes` step changes of the workflow, committed `per_commit` at a time (as the runtime's batches)."""
    version_id, workspace_id, workflow_id, enrollment_id = versions_and_ids
    for start in range(0, changes, per_commit):
        with transaction.atomic():
            for index in range(start, min(changes, start + per_commit)):
                live_updates.counters_changed([(version_id, "node.c.entered", 1)])
                live_updates.executions_changed([(workspace_id, workflow_id, f"{enrollment_id}-{index}", "active")])


def test_a_burst_of_1000_changes_reaches_a_subscriber_as_a_few_merged_messages(workspace, cookie):
    failing = Failing(workspace)
    version = failing.workflow.versions.get(number=1)
    ids = (version.pk, workspace.pk, failing.workflow.pk, "e")

    async def scenario():
        socket = _socket(f"/ws/workflows/{failing.workflow.pk}/", ORIGIN, cookie)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.receive_json_from(timeout=TIMEOUT)  # hello
        loop = asyncio.get_running_loop()
        started = loop.time()
        await database_sync_to_async(_burst)(ids, 1000)
        messages = await _messages_until(
            socket, lambda ms: sum(m["deltas"].get("node.c.entered", 0) for m in ms) >= 1000)
        elapsed = loop.time() - started
        # Merged: one message per INTERVAL at most (plus the first), however fast the changes came.
        assert len(messages) <= elapsed / INTERVAL + 2, (len(messages), elapsed)
        assert sum(m["deltas"]["node.c.entered"] for m in messages) == 1000
        assert any(m["more"] for m in messages)  # more ids than one message carries: the client refetches
        assert all(len(m["executions"]) <= live_updates.MAX_IDS for m in messages)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_a_rolled_back_transaction_publishes_nothing(workspace, cookie):
    failing = Failing(workspace)
    version = failing.workflow.versions.get(number=1)

    def rolled_back_then_committed():
        try:
            with transaction.atomic():
                live_updates.counters_changed([(version.pk, "node.c.entered", 5)])
                raise RuntimeError
        except RuntimeError:
            pass
        with transaction.atomic():
            live_updates.counters_changed([(version.pk, "node.c.entered", 1)])

    async def scenario():
        socket = _socket(f"/ws/workflows/{failing.workflow.pk}/", ORIGIN, cookie)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.receive_json_from(timeout=TIMEOUT)
        await database_sync_to_async(rolled_back_then_committed)()
        message = await socket.receive_json_from(timeout=TIMEOUT)
        assert message["deltas"] == {"node.c.entered": 1}
        await socket.disconnect()

    async_to_sync(scenario)()


def test_execution_socket_and_reconnect_snapshot(workspace, cookie):
    failing = Failing(workspace)
    contact = ContactFactory(workspace=workspace)
    failing.enroll(contact)
    run_due()
    enrollment = Enrollment.objects.get(contact=contact)

    async def scenario():
        socket = _socket(f"/ws/executions/{enrollment.pk}/", ORIGIN, cookie)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        hello = await socket.receive_json_from(timeout=TIMEOUT)
        assert hello == {"type": "hello", "execution": str(enrollment.pk), "status": "failed", "current_node": "c",
                         "updated_at": hello["updated_at"]}
        await socket.disconnect()
        # Changed while no one listened: a reconnect's hello tells the state as it is now.
        await database_sync_to_async(failing.fix)()
        from workflows.execution_actions import enrollment_retry

        await database_sync_to_async(enrollment_retry)(enrollment=enrollment)
        socket = _socket(f"/ws/executions/{enrollment.pk}/", ORIGIN, cookie)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        assert (await socket.receive_json_from(timeout=TIMEOUT))["status"] == "active"
        await database_sync_to_async(run_due)()
        message = await socket.receive_json_from(timeout=TIMEOUT)
        assert message == {"type": "execution", "execution": str(enrollment.pk), "status": "completed"}
        await socket.disconnect()

    async_to_sync(scenario)()


def test_workspace_socket_carries_every_workflow_of_the_workspace_only(workspace, other_workspace, cookie):
    mine, theirs = Failing(workspace), Failing(other_workspace)
    mine.enroll(ContactFactory(workspace=workspace))
    run_due()

    async def scenario():
        socket = _socket("/ws/workspace/", ORIGIN, cookie)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        hello = await socket.receive_json_from(timeout=TIMEOUT)
        assert hello["workspace"] == str(workspace.pk) and hello["enrollments"]["failed"] == 1
        def both_run():
            theirs.enroll(ContactFactory(workspace=other_workspace))
            mine.enroll(ContactFactory(workspace=workspace))
            run_due()

        await database_sync_to_async(both_run)()
        message = await socket.receive_json_from(timeout=TIMEOUT)
        assert message["type"] == "counts" and set(message["workflows"]) == {str(mine.workflow.pk)}
        await socket.disconnect()

    async_to_sync(scenario)()


def test_on_channels_redis_with_the_real_redis(workspace, cookie, settings):
    from django.conf import settings as django_settings

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [django_settings.REDIS_URL], "prefix": "pf-test-live"}}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    failing = Failing(workspace)
    version = failing.workflow.versions.get(number=1)
    try:
        async def scenario():
            socket = _socket(f"/ws/workflows/{failing.workflow.pk}/", ORIGIN, cookie)
            assert (await socket.connect(timeout=TIMEOUT))[0]
            await socket.receive_json_from(timeout=TIMEOUT)
            await database_sync_to_async(_burst)((version.pk, workspace.pk, failing.workflow.pk, "r"), 50)
            messages = await _messages_until(
                socket, lambda ms: sum(m["deltas"].get("node.c.entered", 0) for m in ms) >= 50)
            assert sum(m["deltas"]["node.c.entered"] for m in messages) == 50
            await socket.disconnect()

        async_to_sync(scenario)()
    finally:
        channel_layers.backends.clear()


def test_sockets_past_the_users_cap_are_refused_at_the_handshake_and_a_closed_one_frees_its_place(
        workspace, cookie, settings):
    from penguinflow.common.redis_client import redis_client
    from workflows.socket_limits import TOO_MANY

    settings.LIVE_MAX_SOCKETS_PER_USER = 2
    workflow = Failing(workspace).workflow
    redis_client().delete(*redis_client().keys("pf:live-sockets:*") or ["none"])

    async def scenario():
        path = f"/ws/workflows/{workflow.pk}/"
        first, second = _socket(path, ORIGIN, cookie), _socket(path, ORIGIN, cookie)
        assert (await first.connect(timeout=TIMEOUT))[0] and (await second.connect(timeout=TIMEOUT))[0]
        assert await _socket(path, ORIGIN, cookie).connect(timeout=TIMEOUT) == (False, TOO_MANY)
        await first.disconnect()
        again = _socket(path, ORIGIN, cookie)
        assert (await again.connect(timeout=TIMEOUT))[0]
        await again.disconnect()
        await second.disconnect()

    async_to_sync(scenario)()


def test_a_client_that_sends_more_than_its_allowance_is_disconnected(workspace, cookie, settings):
    from workflows.socket_limits import TOO_MANY

    settings.LIVE_MAX_CLIENT_FRAMES_PER_MINUTE = 3
    workflow = Failing(workspace).workflow

    async def scenario():
        socket = _socket(f"/ws/workflows/{workflow.pk}/", ORIGIN, cookie)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        assert (await socket.receive_json_from(timeout=TIMEOUT))["type"] == "hello"
        for text in ("hi", "not json {", "again"):  # within the allowance: ignored, unread
            await socket.send_input({"type": "websocket.receive", "text": text})
        assert await socket.receive_nothing(timeout=0.5)
        await socket.send_input({"type": "websocket.receive", "text": "one too many"})
        closed = await socket.receive_output(timeout=TIMEOUT)
        assert closed == {"type": "websocket.close", "code": TOO_MANY}

    async_to_sync(scenario)()
