"""The schema is the API: every operation of /api/schema/ is fuzzed against the Django app itself.

Schemathesis reads the schema the app serves and generates requests from it: valid ones, ones the schema forbids,
and the boundary cases of each constraint. Each answer is checked: never a 5xx, only documented status codes and
content types, bodies of the documented shapes, schema-valid requests accepted, schema-invalid ones refused.

Requests carry a real API key of a fresh workspace that holds one object of each kind the API names (a contact,
a segment, a template, a campaign, an active workflow with an execution, a webhook workflow). A generated id
that is well formed is pointed at the object of its kind, so that the fuzz gets past the 404 into the real work.
Each request runs in a savepoint that is rolled back: every example starts from the same rows, and nothing is
left for other tests.

`POST /api/v1/events` is fuzzed through the Django view; under uvicorn the ASGI fast path answers it with the same
checks (`events.admission`) and the same ingestion, which tests/events/test_fastpath.py holds to the view.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from penguinflow.wsgi import application

# The answers that refuse a request the schema forbids: Schemathesis' own list, and 413, since the body-size limit
# counts bytes, which no string's maxLength can bound. (5xx are caught by not_a_server_error.)
pytestmark = pytest.mark.hostile

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Schemathesis gives every operation's item one node id, which pytest-xdist takes for a single test (it ran 1
    # operation of 140, and said nothing): `make test` runs this module in a process of its own after the others.
    pytest.skip("the schema fuzz runs in one process (scripts/dev.py ONE_PROCESS_TESTS), not under pytest-xdist",
                allow_module_level=True)


REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
CONFIG = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}})
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]

# Small enough for a few minutes on a busy 2-core machine: the coverage phase adds its deterministic boundary
# cases (each missing field, wrong type, limit) on top of these random ones.
MAX_EXAMPLES = 12

# Body fields that name an object of the workspace, and the kind of that object.
REFERENCES = {"contact_id": "contacts", "segment_id": "segments", "campaign_id": "campaigns",
              "template_id": "templates", "workflow_id": "workflows"}


@dataclass
class FuzzWorkspace:
    """A workspace with one object of each kind the API names, and the key that reaches them."""

    headers: dict[str, str]
    ids: dict[str, str]
    external_id: str
    webhook_token: str
    tracking_headers: dict[str, str]

    def aim(self, case) -> None:
        """Point generated, well-formed references at the workspace's objects (validity is kept as it was)."""
        params = case.path_parameters or {}
        kind = _kind_of(case.path)
        if "token" in params:
            params["token"] = self.webhook_token
        if "id" in params and kind in self.ids and _is_uuid(params["id"]):
            params["id"] = self.ids[kind]
        if "delivery_id" in params and _is_uuid(params["delivery_id"]):
            params["delivery_id"] = self.ids["webhook-deliveries"]
        if "number" in params and re.fullmatch(r"[0-9]+", str(params["number"])):
            params["number"] = 1
        if isinstance(case.query, dict):
            # A cursor is a token from an earlier answer: a generated one can only be refused.
            case.query.pop("cursor", None)
        if isinstance(case.body, dict | list):
            self._aim_body(case.body)
        version = case.body.get("version") if isinstance(case.body, dict) else None
        if kind == "workflows" and isinstance(version, str) and re.fullmatch(r"[1-9][0-9]{0,8}", version):
            case.body["version"] = "1"  # the one published version

    def _aim_body(self, value: Any) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in list(items):
            if key in REFERENCES and _is_uuid(item):
                value[key] = self.ids[REFERENCES[key]]
            elif key == "contact" and isinstance(item, dict):
                if _is_uuid(item.get("id")):
                    item["id"] = self.ids["contacts"]
                external_id = item.get("external_id")
                if isinstance(external_id, str) and external_id.strip() and len(external_id) <= 255:
                    item["external_id"] = self.external_id
            elif isinstance(item, dict | list):
                self._aim_body(item)


def _kind_of(path: str) -> str | None:
    match = re.match(r"^/api/v1/([a-z-]+)/", path)
    return match.group(1) if match else None


def _is_uuid(value: Any) -> bool:
    """Whether `value` is a UUID as the schema spells one (Python also reads braces, or no dashes: negative cases)."""
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def beyond_the_schema(case) -> str | None:
    """Name the rule a request breaks that JSON Schema (OpenAPI 3.0's) cannot state, or None.

    Such a request may be valid by the schema and still be refused with 400; the schema says these rules in
    words. Only the check that schema-valid requests are accepted is skipped for it: it is still sent, and every
    other check runs (no 5xx, a documented status, the contract's error body).
    """
    from penguinflow.common.validators import json_problem

    if isinstance(case.body, dict | list) and json_problem(case.body):
        # Keys are text PostgreSQL must store (no NUL, no unpaired surrogate), numbers fit 64 bits, nesting is
        # bounded: OpenAPI 3.0 has no `propertyNames`, and "any JSON value" cannot bound what it nests.
        return "JSON that cannot be stored and read back"
    body = case.body if isinstance(case.body, dict) else {}
    events = body.get("events", [body])
    if _kind_of(case.path) in ("events", "track") and any(_beyond_the_clock(item) for item in _items(events)):
        return "an occurred_at more than a day ahead, or past year 9999 in UTC"
    if _kind_of(case.path) == "segments" and "rule" in body:
        from workflows.engine.conditions import check_rule

        if check_rule(body["rule"]):
            return "a JsonLogic rule with unknown operations or bad arguments"
    if _kind_of(case.path) == "expressions":
        from workflows.engine.conditions import check_rule
        from workflows.engine.expressions import ExpressionError, expression_compile

        if case.path.endswith("/render") and check_rule(body.get("rule")):
            return "a JsonLogic rule with unknown operations or bad arguments"
        try:
            if case.path.endswith("/compile"):
                expression_compile(body.get("js"))
        except ExpressionError:
            return "an expression outside the subset of CONTRACT §7a"
    if _kind_of(case.path) == "workflows-as-code":
        return "files whose texts must be workflow, template or workspace documents (YAML or JSON)"
    if _kind_of(case.path) == "workflows" and case.path.endswith("/publish") and "migrate" in body:
        return "a migration naming versions and nodes that the workflow has"
    if _kind_of(case.path) == "templates" and not case.path.endswith("/preview/"):
        from templates.authoring import template_syntax_errors

        parts = {part: body[part] for part in ("subject", "html", "text") if isinstance(body.get(part), str)}
        if template_syntax_errors(**{"subject": "", "html": "", "text": "", **parts}):
            return "Liquid that does not parse"
    if _kind_of(case.path) == "webhooks" and (case.method != "GET" or case.path.endswith("/samples/")):
        # The outbound guard judges a URL by what it resolves to; event types must be known (the catalogue, or
        # a custom type the workspace recorded); `url` or `target_url`, `events` or `event`, one of each.
        return "a URL the outbound guard refuses, an unknown event type, or a duplicate subscription"
    if _kind_of(case.path) == "connectors" and case.method in ("POST", "PATCH"):
        # What each kind needs (Salesforce its instance URL, LinkedIn and Facebook their page's id) depends on
        # the kind; the schema says it in words.
        return "a connector without the address or settings its kind needs"
    if case.path.endswith("/push-subscriptions") and case.method == "POST":
        # Keys must be a P-256 point and a 16-byte secret; the endpoint https and allowed by the outbound guard.
        return "push keys that encrypt nothing, or an endpoint the outbound guard refuses"
    if _kind_of(case.path) == "contacts" and isinstance(body.get("phone"), str) and body["phone"].strip():
        from contacts.phones import phone_normalise
        from penguinflow.common.errors import InvalidInput

        try:
            phone_normalise(body["phone"])
        except InvalidInput:
            return "a phone number that is not a valid number with its country code"
    if _kind_of(case.path) == "workspace" and case.method == "PATCH":
        from penguinflow.workspaces.messaging_settings import settings_validate

        try:
            settings_validate(body, {})
        except ValueError as error:
            if all(path.split(".")[-1] == "per" or ".regions." in f".{path}." for path in error.args[0]):
                return "a cap's span outside one minute to one year, or a region that is not an ISO 3166 code"
    if case.path == "/api/v1/workflow-templates/import" or (
        case.path == "/api/v1/workflow-templates" and case.method == "POST" and body.get("visibility") == "community"
    ):
        # A template document must follow docs/templates.md and pass its checks (the sample runs to its path; a
        # community one holds no secret or personal data): rules of content, not of shape.
        return "a template that does not pass the checks of docs/templates.md"
    graph = body.get("graph")
    if isinstance(graph, dict):
        for kind in ("nodes", "edges", "notes"):
            ids = [item.get("id") for item in _items(graph.get(kind)) if isinstance(item, dict)]
            if len(ids) != len(set(map(str, ids))):
                return "node, edge or note ids that repeat"
    return None


def _items(value: Any) -> list:
    return value if isinstance(value, list) else []


def _beyond_the_clock(event: Any) -> bool:
    """Whether an event's occurred_at is a time the ingestion refuses by a rule relative to now (no schema can
    say "at most one day after the moment of receipt") or past the calendar's end once moved to UTC."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from events.services import MAX_FUTURE

    moment = event.get("occurred_at") if isinstance(event, dict) else None
    if not isinstance(moment, str):
        return False
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        return parsed.tzinfo is not None and parsed.astimezone(UTC) > timezone.now() + MAX_FUTURE
    except ValueError:
        return False
    except OverflowError:
        return True


def _webhook_with_a_delivery(workspace):
    from django.utils import timezone

    from webhooks.models import WebhookDelivery
    from webhooks.services import subscription_create

    subscription = subscription_create(workspace=workspace, url="https://hooks.example.com/in", events=["*"])
    delivery = WebhookDelivery.objects.create(
        workspace=workspace, subscription=subscription, event_id=1, event_type="contact.created", msg_id="msg_1",
        payload="{}", status=WebhookDelivery.Status.SUCCEEDED, next_attempt_at=timezone.now(),
        created_at=timezone.now())
    return subscription, delivery


@pytest.fixture
def fuzz_workspace(db) -> FuzzWorkspace:
    from connectors.services import connector_create
    from contacts.models import Segment
    from penguinflow.workspaces.services import (
        api_key_create,
        credential_create,
        signing_secret_rotate,
        workspace_settings_change,
        write_key_rotate,
    )
    from tasks.services import task_create
    from tests.engine.graphs import chain, node
    from tests.factories import CampaignFactory, ContactFactory, EmailTemplateFactory, WorkspaceFactory
    from tests.workflows.builders import publish
    from workflows.models import Enrollment
    from workflows.services import workflow_enroll

    workspace = WorkspaceFactory(slug="fuzz", name="Fuzz")
    _, secret = api_key_create(workspace=workspace, name="fuzz")
    workspace_settings_change(workspace=workspace, changes={"tracking_origins": ["https://www.fuzz.test"]})
    contact = ContactFactory(workspace=workspace, email="ada@example.test", external_id="ext-ada")
    segment = Segment.objects.create(workspace=workspace, name="Everyone", rule={"==": [1, 1]})
    workflow = publish(workspace, [node("t", "trigger_manual"), node("a", "add_tag", {"tag": "fuzzed"})],
                       chain("t", "a"))
    workflow_enroll(workflow=workflow, contacts=[{"id": str(contact.pk)}])
    hook_workflow = publish(workspace, [node("t", "trigger_webhook"), node("a", "add_tag", {"tag": "hooked"})],
                            chain("t", "a"), name="Hooked")
    subscription, delivery = _webhook_with_a_delivery(workspace)
    return FuzzWorkspace(
        headers={"Authorization": f"Bearer {secret}"},
        ids={
            "contacts": str(contact.pk),
            "segments": str(segment.pk),
            "templates": str(EmailTemplateFactory(workspace=workspace).pk),
            "campaigns": str(CampaignFactory(workspace=workspace).pk),
            "workflows": str(workflow.pk),
            "executions": str(Enrollment.objects.get(workflow=workflow).pk),
            "tasks": str(task_create(workspace=workspace, title="Call Ada", contact=contact).pk),
            "webhook-signing-secrets": str(signing_secret_rotate(workspace=workspace).pk),
            "webhooks": str(subscription.pk),
            "webhook-deliveries": str(delivery.pk),
            "credentials": str(credential_create(workspace=workspace, name="API", secret="s3cr3t").pk),
            "connectors": str(connector_create(workspace=workspace, kind="pipedrive", name="CRM",
                                               secret="s3cr3t").pk),
        },
        external_id=contact.external_id,
        webhook_token=hook_workflow.webhook_token,
        # The website's: POST /api/v1/track is admitted by the public write key from a declared origin.
        tracking_headers={"X-Write-Key": write_key_rotate(workspace=workspace).write_key,
                          "Origin": "https://www.fuzz.test"},
    )


@pytest.fixture
def in_process_requests():
    """Keep the test's connection across requests: Django closes "old" connections around each WSGI request,
    which would close the one holding the test's transaction (Django's own test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, fuzz_workspace, in_process_requests):
    fuzz_workspace.aim(case)
    checks = CHECKS
    if beyond_the_schema(case):
        checks = [check for check in CHECKS if check is not positive_data_acceptance]
    with transaction.atomic():
        try:
            headers = fuzz_workspace.tracking_headers if _kind_of(case.path) == "track" else fuzz_workspace.headers
            case.call_and_validate(headers=headers, checks=checks)
        finally:
            transaction.set_rollback(True)
