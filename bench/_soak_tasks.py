"""The child processes of `bench soak` (python -m bench._soak_tasks <task> <spec file>).

- `prepare` (Django set up against the soak database): one workspace per channel, seeded by that channel's own
  bench (bench.email, bench.sms, bench.push; the webhook one by bench.runtime), each with an API key and one
  active workflow "event soak.<channel> -> send it"; one user, member of the four, with a session per workspace
  for the live subscribers. Prints the JSON the client needs.
- `client` (no Django): the offered load, POST /api/v1/events at the given rate through bench.events'
  kept-alive client, and the live subscribers (websocket clients on the history routes) for as long; prints
  "started" when the load begins, then its counts as JSON.

Each channel's events name its contacts in turn (event n: contact n mod CONTACTS): one live enrollment per
(workflow, contact) is the runtime's rule, so a contact must have finished before its next event comes.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

CHANNELS = ("email", "sms", "push", "webhook")
QUEUES = ("email", "sms", "push", "webhooks", "engine", "events", "default")  # the workers': deliveries first
BATCH = 10  # events per request
CONNECTIONS_PER_CHANNEL = 8  # one request in flight on each: a slow answer must not slow the offered rate
SUBSCRIBERS_PER_WORKFLOW = 3  # plus one on the workspace's list screen: 16 sockets, under the per-user cap of 20
NO_QUIET_HOURS = {"start": "00:00", "end": "00:00"}
CONTACT_CYCLE_S = 60  # a contact's next event comes this long after its previous one (bench.soak sizes the contacts)


# --- prepare (Django) ---------------------------------------------------------------------------------------------


def _send_step(channel: str, seeded, port: int) -> tuple[str, str, dict[str, Any]]:
    from bench import sms

    if channel == "email":
        return ("s", "send_email", {"template_id": seeded.args[1]})
    if channel == "sms":
        return ("s", "send_sms", {"text": sms.TEXT})
    if channel == "push":
        return ("s", "send_push", {"title": "Hi {{ contact.first_name }}", "body": "Your plan is ready.",
                                   "url": "https://example.com/plan"})  # fmt: skip
    return ("s", "webhook", {"url": f"http://127.0.0.1:{port}/soak", "body": {"enrollment": "{{ enrollment.id }}"}})


def _seed(channel: str, contacts: int, spec: dict[str, Any]):
    """Seed the channel's workspace with its bench's own seed; return (Seeded, contact email format)."""
    from bench import email, push, sms
    from bench import runtime as runtime_bench
    from bench._runner import Seeded
    from penguinflow.workspaces.models import Workspace

    port = spec["ports"][channel]
    if channel == "email":
        return email.seed("soak-email", contacts, port), "bench{}@example.com"
    if channel == "sms":
        return sms.seed("soak-sms", contacts, port), "sms{}@example.com"
    if channel == "push":
        return push.seed("soak-push", spec["browsers"], port), "bench{}@example.com"
    workspace = Workspace.objects.create(slug="soak-webhook", name="Soak webhook")
    runtime_bench._contacts(workspace, contacts, "hook")  # hook1@bench.test .. hook<contacts>@bench.test
    return Seeded(workspace, []), "hook{}@bench.test"


def prepare(spec: dict[str, Any]) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from bench import runtime as runtime_bench
    from bench._support import session_cookie
    from penguinflow.workspaces.models import Membership
    from penguinflow.workspaces.services import api_key_create, signing_secret_rotate

    user = get_user_model().objects.create_user("soak", "soak@example.com", "soak-password")
    made: dict[str, Any] = {}
    for channel in CHANNELS:
        seeded, address = _seed(channel, spec["contacts"], spec)
        workspace = seeded.workspace
        workspace.settings = {**(workspace.settings or {}), "quiet_hours": NO_QUIET_HOURS}
        workspace.send_rate_per_minute = 10_000_000
        workspace.save()
        signing_secret_rotate(workspace=workspace)
        workflow = runtime_bench._publish(workspace, f"Soak {channel}", [
            ("t", "trigger_event", {"event": f"soak.{channel}"}), _send_step(channel, seeded, spec["ports"][channel])])  # fmt: skip
        Membership.objects.create(user=user, workspace=workspace)
        _, key = api_key_create(workspace=workspace, name="soak")
        made[channel] = {
            "workspace": str(workspace.pk), "workflow": str(workflow.pk), "key": key,
            "address": address, "first": 1 if channel == "webhook" else 0,
            "cookie": session_cookie("soak", workspace_id=str(workspace.pk)),
        }  # fmt: skip
    return made


# --- client (no Django) -------------------------------------------------------------------------------------------


def _body(channel: str, run_id: str, prepared: dict[str, Any], contacts: int):
    def body(slot: int, n: int, _rng) -> bytes:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        items = []
        for i in range(BATCH):
            index = ((n * CONNECTIONS_PER_CHANNEL + slot) * BATCH + i) % contacts
            items.append({"id": f"{run_id}-{slot}-{n}-{i}", "type": f"soak.{channel}", "occurred_at": now,
                          "contact": {"email": prepared["address"].format(index + prepared["first"])},
                          "properties": {"n": n}})  # fmt: skip
        return json.dumps({"events": items}).encode()

    return body


async def _subscriber(url: str, cookie: str, origin: str, counts: dict[str, int], kind: str,
                      connected: asyncio.Event, expected: int) -> None:
    """Listen on `url` (reconnecting, as the screens do) and count the live messages after each hello."""
    import websockets

    first = True
    while True:
        try:
            async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=origin,
                                          open_timeout=30) as socket_:  # fmt: skip
                await socket_.recv()  # the hello snapshot
                counts["connections"] += 1
                if first and counts["connections"] >= expected:
                    connected.set()
                first = False
                async for _ in socket_:
                    counts[kind] += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # closed by the server, refused, or the server busy: count it and come back
            counts["dropped"] += 1
            await asyncio.sleep(1)


async def client(spec: dict[str, Any]) -> dict[str, Any]:
    from bench.events import HOST, post_batches

    port, seconds, rate, contacts = spec["port"], spec["seconds"], spec["rate"], spec["contacts"]
    prepared: dict[str, Any] = spec["prepared"]
    origin = f"http://{HOST}:{port}"
    counts = {"connections": 0, "dropped": 0, "workflow": 0, "workspace": 0}
    connected = asyncio.Event()
    urls = [(f"ws://{HOST}:{port}/ws/workflows/{made['workflow']}/", made["cookie"], "workflow")
            for made in prepared.values() for _ in range(SUBSCRIBERS_PER_WORKFLOW)]
    urls += [(f"ws://{HOST}:{port}/ws/workspace/", made["cookie"], "workspace") for made in prepared.values()]
    subscribers = [asyncio.create_task(_subscriber(url, cookie, origin, counts, kind, connected, len(urls)))
                   for url, cookie, kind in urls]  # fmt: skip
    await asyncio.wait_for(connected.wait(), 120)
    print("started", flush=True)
    run_id = f"soak{int(time.time() * 1000)}"
    requests_per_s = rate / len(CHANNELS) / BATCH
    loads = [
        post_batches(port, (f"POST /api/v1/events HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {made['key']}\r\n"
                            "Content-Type: application/json\r\n").encode(),
                     seconds=seconds, concurrency=CONNECTIONS_PER_CHANNEL, rate=requests_per_s,
                     body=_body(channel, f"{run_id}-{channel}", made, contacts))
        for channel, made in prepared.items()
    ]  # fmt: skip
    results = await asyncio.gather(*loads)
    await asyncio.sleep(spec.get("listen_after", 5))  # the last merged messages of the steps the load started
    for task in subscribers:
        task.cancel()
    await asyncio.gather(*subscribers, return_exceptions=True)
    for result in results:
        result["statuses"] = {str(status): n for status, n in result["statuses"].items()}
        result["offered"] = BATCH * (result["requests"] + result["errors"] - sum(
            n for status, n in result["statuses"].items() if status != "202"))
    return {"channels": dict(zip(prepared, results, strict=True)), "live": counts, "subscribers": len(urls)}


if __name__ == "__main__":
    task, spec_file = sys.argv[1], Path(sys.argv[2])
    loaded = pickle.loads(spec_file.read_bytes())
    if task == "prepare":
        import django

        django.setup()
        print(json.dumps(prepare(loaded)))
    elif task == "client":
        print(json.dumps(asyncio.run(client(loaded))))
    else:
        raise SystemExit(f"unknown task {task!r}")
