"""social_post for real: a workflow published and run by the runtime posts through a real local server speaking each
network's API subset, with the real database and Redis. The post's id and URL land on the step and in the
enrollment's variables (a following step reads enrollment.vars.post_url); the text is Liquid; a rate limit makes
the step wait for its reset and post then, however many times it comes; a lost permission marks the account
needs_attention and fails the step saying what to fix; a text too long fails at publish when literal and at send
once rendered; a retried step never posts twice."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connectors.models import Connector
from tests.connectors.social_servers import TOKEN, social_server
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from workflows.models import Enrollment, StepRun

SETTINGS = {"linkedin": {"organization_id": "1001"}, "x": {}, "facebook": {"page_id": "1001"}}


@pytest.fixture
def loopback(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def _account(api, kind: str, server, *, name: str | None = None, **settings) -> str:
    response = api.post("/api/v1/connectors", {
        "kind": kind, "name": name or f"Our {kind}", "secret": TOKEN, "base_url": server.url,
        "settings": {**SETTINGS[kind], **settings}}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _account_for(workspace, kind: str, server) -> str:
    from connectors.services import connector_create

    return str(connector_create(workspace=workspace, kind=kind, name=f"Our {kind}", secret=TOKEN,
                                base_url=server.url, settings=SETTINGS[kind]).pk)


def _post_then_keep_url(workspace, account_id: str, text: str, url: str | None = None):
    """trigger → social_post → a field set to the post's URL (read from enrollment.vars.post_url)."""
    config = {"account_id": account_id, "text": text, **({"url": url} if url else {})}
    return publish(workspace, [
        node("t", "trigger_manual"), node("p", "social_post", config),
        node("f", "update_field", {"field": "shared", "value": "{{ enrollment.vars.post_url }}"}),
    ], chain("t", "p", "f"))


def _enroll(api, workflow, contact) -> Enrollment:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": [{"id": str(contact.pk)}]},
                        format="json")
    assert response.status_code == 202, response.content
    return Enrollment.objects.get(workflow=workflow, contact=contact)


def _step(enrollment, node_id: str = "p") -> StepRun:
    return StepRun.objects.filter(enrollment=enrollment, node_id=node_id).order_by("-id").first()


URLS = {"linkedin": "https://www.linkedin.com/feed/update/urn:li:share:7000000001/",
        "x": "https://x.com/i/web/status/7000000001",
        "facebook": "https://www.facebook.com/1001_7000000001"}


@pytest.mark.parametrize("kind", ["linkedin", "x", "facebook"])
def test_a_workflow_posts_and_the_next_step_reads_the_posts_url(api, workspace, loopback, kind):
    with social_server(kind) as server:
        account = _account(api, kind, server)
        contact = ContactFactory(workspace=workspace, first_name="Ada", fields={"city": "Lyon"})
        workflow = _post_then_keep_url(workspace, account, "Welcome {{ contact.first_name }} from "
                                       "{{ contact.fields.city }} (our 100th customer)!", url="https://acme.test/ada")
        enrollment = _enroll(api, workflow, contact)
        run_due()

    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    step = _step(enrollment)
    assert step.detail["post_url"] == URLS[kind] and step.detail["network"] == kind
    assert enrollment.context["vars"] == {"post_id": step.detail["post_id"], "post_url": URLS[kind]}
    contact.refresh_from_db()
    assert contact.fields["shared"] == URLS[kind]
    (request,) = server.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in json.dumps(step.detail) + json.dumps(enrollment.context)
    text = "Welcome Ada from Lyon (our 100th customer)!"
    if kind == "linkedin":
        post = request.json()
        assert post["author"] == "urn:li:organization:1001" and post["lifecycleState"] == "PUBLISHED"
        assert post["commentary"] == r"Welcome Ada from Lyon \(our 100th customer\)!"  # little text, escaped
        assert post["content"]["article"]["source"] == "https://acme.test/ada"
        assert request.headers["LinkedIn-Version"] and request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    elif kind == "x":
        assert request.json() == {"text": f"{text} https://acme.test/ada"}
    else:
        assert request.path == "/v19.0/1001/feed"
        assert request.form() == {"message": text, "link": "https://acme.test/ada"}
    assert step.detail["text"] == text


def test_the_text_and_link_read_the_event_and_variables_an_earlier_step_wrote(workspace, loopback):
    from events.gateway import EventRecord
    from events.models import Event
    from workflows.runtime_gateway import RuntimeGateway

    with social_server("facebook") as server:
        account = _account_for(workspace, "facebook", server)
        workflow = publish(workspace, [
            node("t", "trigger_event", {"event": "product.launched"}),
            node("l", "lookup", {"source": "recent_events", "key": "product.launched", "map": {"launches": "$.count"}}),
            node("p", "social_post", {"account_id": account,
                                      "text": "{{ event.properties.title }} is live (launch #{{ enrollment.vars.launches }})"
                                              ", said {{ contact.first_name }}",
                                      "url": "https://acme.test/{{ event.properties.slug }}"}),
        ], chain("t", "l", "p"))
        contact = ContactFactory(workspace=workspace, first_name="Ada")
        launched = Event.objects.create(workspace=workspace, contact_id=contact.pk, type="product.launched",
                                        properties={"title": "Penguin Pro", "slug": "penguin-pro"},
                                        occurred_at=timezone.now(), received_at=timezone.now())
        RuntimeGateway().process(events=[EventRecord(
            id=launched.id, workspace_id=workspace.pk, contact_id=contact.pk, type=launched.type,
            occurred_at=launched.occurred_at, properties=launched.properties, flags={})])
        run_due()

    enrollment = Enrollment.objects.get(workflow=workflow)
    assert enrollment.status == "completed", enrollment.error
    assert server.requests[0].form() == {"message": "Penguin Pro is live (launch #1), said Ada",
                                         "link": "https://acme.test/penguin-pro"}
    assert enrollment.context["vars"]["post_url"] == "https://www.facebook.com/1001_7000000001"


@pytest.mark.parametrize("kind", ["x", "linkedin", "facebook"])
def test_a_rate_limit_makes_the_step_wait_for_the_reset_and_post_then_however_often_it_comes(
        api, workspace, loopback, kind):
    with social_server(kind) as server:
        server.rate_limit(times=8, reset_in_s=120)  # more than the step's attempts: a limit spends none of them
        workflow = _post_then_keep_url(workspace, _account(api, kind, server), "Spring sale!")
        enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
        now = timezone.now()
        for _ in range(8):
            run_due(now=now)
            enrollment.refresh_from_db()
            assert enrollment.status == "waiting" and server.posts == []
            wait = enrollment.context["wait"]
            until = timezone.datetime.fromisoformat(wait["until"])
            assert timedelta(seconds=100) <= until - now <= timedelta(seconds=125)
            assert wait["detail"]["rate_limited"] is True
            assert "posting again in 2 minutes, when the limit resets" in wait["detail"]["reason"]
            run_due(now=now + timedelta(seconds=60))  # before the reset: nothing is sent
            assert len(server.requests) == _ + 1
            now = until + timedelta(seconds=1)
        run_due(now=now)

    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    assert len(server.posts) == 1 and len(server.requests) == 9
    assert enrollment.context["vars"]["post_id"]


def test_a_network_that_fails_is_retried_and_posts_once(api, workspace, loopback):
    with social_server("x") as server:
        server.fail(503, times=2)
        workflow = _post_then_keep_url(workspace, _account(api, "x", server), "Hello")
        enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
        start = timezone.now()
        for hours in (0, 1, 2):
            run_due(now=start + timedelta(hours=hours))

    enrollment.refresh_from_db()
    assert enrollment.status == "completed", enrollment.error
    assert len(server.requests) == 3 and len(server.posts) == 1


@pytest.mark.parametrize(("kind", "lose", "said"), [
    ("linkedin", "pages", "Not enough permissions to create a post as urn:li:organization:1001"),
    ("linkedin", "tokens", "The token used in the request has been revoked by the user"),
    ("x", "tokens", "answered 401"),
    ("facebook", "tokens", "Error validating access token: Session has expired"),
    ("facebook", "pages", "(#200) The user hasn't authorized the application"),
])
def test_a_lost_permission_marks_the_account_and_fails_the_step_with_the_reason_and_the_fix(
        api, workspace, loopback, kind, lose, said):
    with social_server(kind) as server:
        account = _account(api, kind, server)
        getattr(server, lose).clear()
        workflow = _post_then_keep_url(workspace, account, "Hello")
        first = _enroll(api, workflow, ContactFactory(workspace=workspace))
        run_due()
        second = _enroll(api, workflow, ContactFactory(workspace=workspace))
        run_due()
        assert len(server.requests) == 1  # the second step fails on the recorded refusal, without calling

    connector = Connector.objects.get(pk=account)
    assert connector.status == "needs_attention" and said in connector.last_error
    assert "Reconnect the" in connector.last_error and "enter a new" in connector.last_error
    assert api.get(f"/api/v1/connectors/{account}").json()["status"] == "needs_attention"
    for enrollment in (first, second):
        enrollment.refresh_from_db()
        assert enrollment.status == "failed"
        assert said in enrollment.error["message"] and "Reconnect the" in enrollment.error["message"]
    # Publishing a workflow that posts with it is refused until a new token is entered.
    [(code, message)] = _publish_errors(api, {"account_id": account, "text": "Hi"})
    assert code == "social_account_needs_attention" and said in message and "Reconnect the" in message
    assert api.patch(f"/api/v1/connectors/{account}", {"secret": "new"}, format="json").status_code == 200
    response = api.post(f"/api/v1/workflows/{workflow.pk}/publish")
    assert response.status_code == 200, response.content


def test_a_duplicate_refused_by_x_fails_the_step_but_leaves_the_account_active(api, workspace, loopback):
    with social_server("x") as server:
        account = _account(api, "x", server)
        workflow = _post_then_keep_url(workspace, account, "Same words")
        first = _enroll(api, workflow, ContactFactory(workspace=workspace))
        second = _enroll(api, workflow, ContactFactory(workspace=workspace))
        run_due()
    statuses = sorted(Enrollment.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses == ["completed", "failed"]
    failed = Enrollment.objects.get(pk__in=[first.pk, second.pk], status="failed")
    assert "duplicate" in failed.error["message"] and "vary the text" in failed.error["message"]
    assert Connector.objects.get(pk=account).status == "active"


def test_a_text_too_long_once_rendered_fails_the_step_before_anything_is_sent(api, workspace, loopback):
    with social_server("x") as server:
        contact = ContactFactory(workspace=workspace, fields={"story": "word " * 60})
        workflow = _post_then_keep_url(workspace, _account(api, "x", server), "{{ contact.fields.story }}",
                                       url="https://acme.test/a")
        enrollment = _enroll(api, workflow, contact)
        run_due()
        assert server.requests == []
    enrollment.refresh_from_db()
    assert enrollment.status == "failed"
    assert "The post is 323 characters long" in enrollment.error["message"]
    assert "X takes at most 280: shorten the text by 43" in enrollment.error["message"]


def test_an_internal_api_address_is_refused_by_the_outbound_guard(api, workspace, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with social_server("facebook") as server:  # a real server on 127.0.0.1 that must never be reached
        workflow = _post_then_keep_url(workspace, _account(api, "facebook", server), "Hello")
        enrollment = _enroll(api, workflow, ContactFactory(workspace=workspace))
        run_due()
        assert server.requests == []
    enrollment.refresh_from_db()
    assert enrollment.status == "failed" and "loopback" in enrollment.error["message"]


def test_a_step_run_again_after_its_post_is_recorded_does_not_post_again(workspace, api, loopback):
    """The batch that posted rolls back (as a redo after an outbox conflict, or a worker killed before commit,
    would): the step runs again with the same effect key and answers the post it made, without posting."""
    from workflows.live_ports import ContactBook
    from workflows.social_port import LiveSocial

    with social_server("linkedin") as server:
        account = _account(api, "linkedin", server)
        contact = ContactFactory(workspace=workspace)
        key = f"enrollment-{contact.pk}:p:1"
        with pytest.raises(RuntimeError), transaction.atomic():
            first = LiveSocial(ContactBook.lock([contact.pk]), workspace).post(
                key=key, contact_id=str(contact.pk), account_id=account, text="Hello", url=None)
            raise RuntimeError("the batch rolls back")
        again = LiveSocial(ContactBook.lock([contact.pk]), workspace).post(
            key=key, contact_id=str(contact.pk), account_id=account, text="Hello", url=None)
        other = LiveSocial(ContactBook.lock([contact.pk]), workspace).post(
            key=f"enrollment-{contact.pk}:p:2", contact_id=str(contact.pk), account_id=account, text="Hello",
            url=None)

    assert len(server.posts) == 2  # the first key once, the next visit once
    assert (again.post_id, again.post_url) == (first.post_id, first.post_url)
    assert again.detail["posted_earlier"] is True and other.post_id != first.post_id


# --- publish-time validation ---------------------------------------------------------------------------------------

def _publish_errors(api, config: dict) -> list[tuple[str, str]]:
    graph = {"nodes": [node("t", "trigger_manual"), node("p", "social_post", config)], "edges": chain("t", "p")}
    workflow_id = api.post("/api/v1/workflows", {"name": "Post", "graph": graph}, format="json").json()["id"]
    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert published.status_code == 422, published.content
    return [(error["code"], error["message"]) for error in published.json()["error"]["details"]["errors"]]


def test_a_literal_text_too_long_for_the_network_is_refused_at_publish(api, workspace):
    account = api.post("/api/v1/connectors", {"kind": "x", "name": "X", "secret": TOKEN}, format="json").json()["id"]
    [(code, message)] = _publish_errors(api, {"account_id": account, "text": "é" * 281})
    assert code == "post_too_long" and "X takes at most 280: shorten the text by 1" in message
    # X counts a link 23 (and the space before it), however long it is.
    [(code, message)] = _publish_errors(api, {"account_id": account, "text": "a" * 257,
                                              "url": "https://acme.test/" + "x" * 200})
    assert code == "post_too_long" and "The post is 281 characters long" in message
    linkedin = api.post("/api/v1/connectors", {"kind": "linkedin", "name": "Page", "secret": TOKEN,
                                               "settings": {"organization_id": "1"}}, format="json").json()["id"]
    [(code, message)] = _publish_errors(api, {"account_id": linkedin, "text": "a" * 3001})
    assert code == "post_too_long" and "LinkedIn takes at most 3000" in message


def test_an_unknown_account_or_another_workspaces_is_refused_at_publish(api, other_api):
    theirs = other_api.post("/api/v1/connectors", {"kind": "x", "name": "Theirs", "secret": TOKEN},
                            format="json").json()["id"]
    for account in (theirs, "00000000-0000-0000-0000-000000000000", "not-an-id"):
        [(code, message)] = _publish_errors(api, {"account_id": account, "text": "Hi"})
        assert code == "unknown_reference"
        assert message == f"The social account '{account}' does not exist in this workspace: choose another one."


def test_a_crm_connector_is_not_a_social_account(api):
    crm = api.post("/api/v1/connectors", {"kind": "hubspot", "name": "Sales CRM", "secret": TOKEN},
                   format="json").json()["id"]
    assert _publish_errors(api, {"account_id": crm, "text": "Hi"}) == [
        ("not_a_social_account", "The connector 'Sales CRM' is a HubSpot account, not a social one: choose a "
                                 "LinkedIn page, an X account or a Facebook page.")]


def test_a_bad_config_is_refused_at_publish_with_the_fields(api):
    errors = _publish_errors(api, {"account_id": "", "text": "  ", "url": "ftp://x"})
    text = json.dumps(errors)
    assert "the text is empty" in text and "the link must start with https://" in text
