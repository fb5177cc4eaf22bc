"""docs/integrations.md cannot drift: its curl examples run, as written, against a live server (uvicorn, this
test's database), its signature checks (Python, Node.js and the shell's) verify a real delivery and refuse a tampered one,
and its envelope has the keys a real delivery has."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from contacts.models import Contact
from events.processing import events_process_pending
from events.services import event_emit
from penguinflow.workspaces.services import api_key_create
from tests.servers import asgi_server
from tests.webhooks.conftest import ingest, pump, subscribe, wait_until
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.schedule import JITTER, MAX_ATTEMPTS, RETRY_DELAYS

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_doc_has_its_examples():
    assert len(_blocks("bash")) >= 6
    assert len(_blocks("python")) == len(_blocks("js")) == len(_blocks("go")) == len(_blocks("shell")) == 1


def _run_block(block: str, env: dict[str, str], state: Path) -> subprocess.CompletedProcess:
    # Variables a block sets (WEBHOOK_ID...) reach the next ones through `state`, as in one shell session.
    script = (f"set -euo pipefail\nsource {state}\n{block}\n"
              f"set | grep -E '^(WEBHOOK|WEBHOOK_ID|WEBHOOK_SECRET|DELIVERY_ID|ZAP_HOOK_ID)=' > {state} || true\n")
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)


def test_the_curl_examples_run_against_a_live_server(workspace):
    _, key = api_key_create(workspace=workspace, name="docs")
    contact = Contact.objects.create(workspace=workspace, email="ada@example.com")
    with asgi_server() as base_url, tempfile.NamedTemporaryFile("w", suffix=".sh") as state:
        env = {**os.environ, "PENGUINFLOW_URL": base_url, "PENGUINFLOW_API_KEY": key}
        for block in _blocks("bash"):
            result = _run_block(block, env, Path(state.name))
            assert result.returncode == 0, f"{block}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            # Something happens between the examples: a contact event, processed (fanned out) at once.
            event_emit(workspace=workspace, type="contact.created", contact_id=contact.pk)
            events_process_pending()
    subscription = WebhookSubscription.objects.get(url="https://example.com/hooks/penguinflow")
    assert subscription.events == ["contact.created", "contact.tagged", "email.*"]
    assert subscription.previous_secret  # rotated, with an overlap
    assert WebhookDelivery.objects.filter(subscription=subscription).exists()
    assert not WebhookSubscription.objects.filter(url__contains="zapier").exists()  # unsubscribed


@pytest.fixture
def delivered(api, receiver):
    """A real delivery as the receiver got it, and the subscription's secret."""
    sub = subscribe(api, receiver.url, ["email.opened"])
    ingest(api, {"type": "email.opened", "contact": {"email": "ada@example.com"}, "properties": {"name": "Zoë"}})
    pump()
    wait_until(lambda: receiver.requests, what="the delivery")
    request = receiver.requests[0]
    return sub["secret"], {name.lower(): value for name, value in request.headers.items()}, request.body


def test_the_python_check_verifies_a_real_delivery(delivered):
    secret, headers, body = delivered
    scope: dict = {}
    exec(compile(_blocks("python")[0], str(DOC), "exec"), scope)  # the doc's own code, as a reader pastes it
    verify = scope["verify"]
    assert verify(secret, headers, body) is True
    assert verify(secret, headers, body.replace(b"Zo", b"Jo")) is False
    assert verify("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, body) is False


def test_the_node_check_verifies_a_real_delivery(delivered, tmp_path):
    secret, headers, body = delivered
    (tmp_path / "verify.js").write_text(_blocks("js")[0])
    (tmp_path / "case.json").write_text(json.dumps({"secret": secret, "headers": headers,
                                                    "body": base64.b64encode(body).decode()}))
    harness = ("const { verify } = require('./verify.js'); const c = require('./case.json');"
               "const body = Buffer.from(c.body, 'base64');"
               "console.log(JSON.stringify([verify(c.secret, c.headers, body),"
               " verify(c.secret, c.headers, Buffer.concat([body, Buffer.from(' ')]))]));")
    result = subprocess.run(["node", "-e", harness], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, False]


def test_the_shell_check_verifies_a_real_delivery(delivered, tmp_path):
    secret, headers, body = delivered
    script = tmp_path / "verify-delivery.sh"
    script.write_text(_blocks("shell")[0])
    args = ["bash", str(script), secret, headers["webhook-id"], headers["webhook-timestamp"],
            headers["webhook-signature"]]
    good = subprocess.run(args, input=body, capture_output=True, timeout=60)
    tampered = subprocess.run(args, input=body + b" ", capture_output=True, timeout=60)
    assert (good.returncode, good.stdout.strip()) == (0, b"valid"), good.stderr
    assert (tampered.returncode, tampered.stdout.strip()) == (1, b"invalid"), tampered.stderr


def test_the_documented_envelope_has_the_keys_of_a_real_one(delivered):
    _, _, body = delivered
    real = json.loads(body)
    documented = json.loads(_blocks("json")[0])
    assert documented.keys() == real.keys()
    assert documented["data"].keys() == real["data"].keys()
    assert documented["data"]["contact"].keys() == real["data"]["contact"].keys()


def _documented_delays() -> list[timedelta]:
    """The retry table's "after the previous one failed" column, attempts 2 onwards."""
    units = {"second": "seconds", "minute": "minutes", "hour": "hours"}
    rows = re.findall(r"^ *\| (\d+) \| (.+?) \|$", DOC.read_text(), flags=re.MULTILINE)
    assert [int(n) for n, _ in rows] == list(range(1, len(rows) + 1)) and rows[0][1] == "at once"
    delays = []
    for _, text in rows[1:]:
        amount, unit = text.split()
        delays.append(timedelta(**{units[unit.rstrip("s")]: int(amount)}))
    return delays


def test_the_documented_retry_schedule_is_the_one_deliveries_follow():
    assert _documented_delays() == list(RETRY_DELAYS)
    assert MAX_ATTEMPTS == 8
    # "About a day": the last attempt comes 22 to 33 hours after the first, whatever the jitter.
    assert timedelta(hours=20) < sum(RETRY_DELAYS, timedelta()) * (1 - JITTER)
    assert sum(RETRY_DELAYS, timedelta()) * (1 + JITTER) < timedelta(hours=36)
    assert f"After the {MAX_ATTEMPTS}th" in DOC.read_text()
