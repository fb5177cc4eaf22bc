"""The Zapier app (integrations/zapier) against a live PenguinFlow: its own jest tests (zapier-platform-core's
createAppTester, no recorded mocks) run against this test's live server, seeded here; then what its actions did is
checked in the database.

The packages come from `make install` / `scripts/dev.py` (npm ci in integrations/zapier when its lock changed);
nothing is downloaded here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from campaigns.models import Campaign
from contacts.models import Contact, Segment
from events.services import event_emit
from penguinflow.workspaces.models import IdempotentRequest
from penguinflow.workspaces.services import api_key_create
from tasks.models import Task
from tests.engine.graphs import chain, node
from tests.factories import CampaignFactory, ContactFactory, EmailTemplateFactory
from tests.webhook_receiver import receiver_server
from tests.webhooks.conftest import pump, wait_until
from tests.workflows.builders import publish
from webhooks.models import WebhookSubscription

pytestmark = pytest.mark.django_db(transaction=True)

APP = Path(__file__).resolve().parents[2] / "integrations" / "zapier"


def _trigger_events() -> list[str]:
    """The event types the app's triggers listen to, as the app declares them (triggers/events.js)."""
    script = "console.log(JSON.stringify(require('./triggers/events').EVENT_TRIGGERS.map((t) => t[1])))"
    result = subprocess.run(["node", "-e", script], cwd=APP, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _seed(workspace, trigger_events: list[str]) -> dict:
    """What the jest tests act on and expect: a contact, a live workflow, a campaign, a template, and two real
    events of every type a trigger listens to (its samples)."""
    contact = ContactFactory(workspace=workspace, email="ada@example.com", tags=["vip"])
    workflow = publish(workspace, [node("t", "trigger_manual"), node("d", "delay", {"duration": "P30D"})],
                       chain("t", "d"), name="Zapier welcome")
    campaign = CampaignFactory(workspace=workspace, name="Zapier launch")
    template = EmailTemplateFactory(workspace=workspace, name="Zapier hello")
    for type_ in [*trigger_events, "order.completed"]:
        for n in range(2):
            level = type_.startswith("campaign.") and "contact" not in type_
            event_emit(workspace=workspace, type=type_, contact_id=None if level else contact.pk,
                       properties={"campaign_id": str(campaign.pk)} if level else {"n": n})
    return {"workspace_slug": workspace.slug, "workspace_name": workspace.name, "key_label": "Zapier",
            "contact_id": str(contact.pk), "contact_email": contact.email, "workflow_id": str(workflow.pk),
            "campaign_id": str(campaign.pk), "template_id": str(template.pk)}


def _jest(base_url: str, key: str, seed: dict, report: Path) -> subprocess.CompletedProcess:
    npx = shutil.which("npx")
    assert npx, "the Zapier app's tests need Node.js 20 and npm (npx)"
    env = {**os.environ, "PENGUINFLOW_URL": base_url, "PENGUINFLOW_API_KEY": key,
           "PENGUINFLOW_SEED": json.dumps(seed), "CI": "true"}
    return subprocess.run([npx, "--no-install", "jest", "--runInBand", "--json", f"--outputFile={report}"],
                          cwd=APP, env=env, capture_output=True, text=True, timeout=600)


def test_the_zapier_apps_own_tests_pass_against_a_live_server(workspace, live_server, settings, tmp_path):
    if not (APP / "node_modules" / ".bin" / "jest").exists():
        pytest.fail("integrations/zapier has no node_modules: run `make install` (or npm ci there)")
    trigger_events = _trigger_events()
    assert len(trigger_events) >= 10
    # The REST hooks the app subscribes point at 127.0.0.1, which the SSRF guard refuses unless allowed.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    _, key = api_key_create(workspace=workspace, name="Zapier")
    seed = _seed(workspace, trigger_events)
    report = tmp_path / "jest.json"

    result = _jest(live_server.url, key, seed, report)

    assert result.returncode == 0, f"--- jest\n{result.stdout[-20000:]}\n{result.stderr[-20000:]}"
    outcome = json.loads(report.read_text())
    print(f"jest: {outcome['numPassedTests']} passed in {outcome['numTotalTestSuites']} files")
    assert outcome["numFailedTests"] == 0
    assert outcome["numPassedTests"] >= 90, outcome["numPassedTests"]
    # What the actions did, as the database holds it.
    zed = Contact.objects.get(workspace=workspace, email="zap@example.com")
    assert (sorted(zed.tags), zed.fields, zed.score, zed.last_name) == (["vip", "zapier"], {"plan": "pro"}, 15, "Lee")
    assert not Contact.objects.filter(workspace=workspace, email="zap2@example.com").exists()
    assert Task.objects.get(workspace=workspace, title="Call Zed").contact_id == zed.pk
    assert Segment.objects.filter(workspace=workspace, name="Zapier VIPs").count() == 1
    assert Campaign.objects.get(pk=seed["campaign_id"]).status == "completed"
    # Every change carried an Idempotency-Key of the app's; every REST hook it made was unsubscribed again.
    assert IdempotentRequest.objects.filter(key__startswith="zapier-").count() >= 25
    assert not WebhookSubscription.objects.filter(workspace=workspace).exists()


def _invoke(kind: str, key: str, operation: str, bundle: dict) -> object:
    result = subprocess.run(["node", "test/invoke.js", kind, key, operation, json.dumps(bundle)], cwd=APP,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(next(line for line in result.stdout.splitlines() if line.startswith("ANSWER "))[7:])


def test_a_trigger_subscribed_by_the_app_gets_a_real_delivery_it_can_read(workspace, live_server, settings):
    if not (APP / "node_modules").exists():
        pytest.fail("integrations/zapier has no node_modules: run `make install` (or npm ci there)")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    _, key = api_key_create(workspace=workspace, name="Zapier")
    contact = ContactFactory(workspace=workspace, email="ada@example.com")
    auth = {"base_url": live_server.url, "api_key": key}
    with receiver_server() as receiver:
        hook = _invoke("triggers", "contact_tagged", "performSubscribe",
                       {"authData": auth, "inputData": {}, "targetUrl": receiver.url, "meta": {}})

        event_emit(workspace=workspace, type="contact.tagged", contact_id=contact.pk, properties={"tag": "vip"})
        pump()
        wait_until(lambda: receiver.requests, what="the delivery to the Zap's hook")

    delivered = json.loads(receiver.requests[0].body)
    items = _invoke("triggers", "contact_tagged", "perform",
                    {"authData": auth, "inputData": {}, "cleanedRequest": delivered, "meta": {}})
    samples = _invoke("triggers", "contact_tagged", "performList", {"authData": auth, "inputData": {}, "meta": {}})
    assert items == [delivered]
    assert delivered["data"]["properties"] == {"tag": "vip"}
    # The polling fallback lists the same event under the same id: Zapier deduplicates the two.
    assert [sample["id"] for sample in samples] == [delivered["id"]]
    assert samples[0].keys() == delivered.keys()
    _invoke("triggers", "contact_tagged", "performUnsubscribe",
            {"authData": auth, "inputData": {}, "subscribeData": hook, "meta": {}})
    assert not WebhookSubscription.objects.filter(pk=hook["id"]).exists()
