"""The webhook action for real: published, run by the runtime, it calls a real local server, signed per Standard
Webhooks with the workspace's secrets (verified with the `standardwebhooks` package, during a rotation too), with
Liquid rendered safely; the guard refuses internal addresses at publish (literal) and at send time (rendered);
the receiver's answer decides: recorded, retried (Retry-After honoured, same webhook-id) or failed for good."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook as Verifier

from penguinflow.workspaces.models import WebhookSigningSecret
from penguinflow.workspaces.services import signing_secret_revoke, signing_secret_rotate
from tests.engine.graphs import chain, node
from tests.factories import ContactFactory
from tests.webhook_receiver import Answer, receiver_server
from tests.workflows.builders import publish, run_due
from workflows.models import Enrollment, StepRun
from workflows.webhook_port import retry_after_of, webhook_request_preview


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with receiver_server() as receiver:
        yield receiver


@pytest.fixture
def secret(workspace):
    return signing_secret_rotate(workspace=workspace).secret


def _enroll(api, workflow, *contacts) -> None:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/enroll",
                        {"contacts": [{"id": str(c.pk)} for c in contacts]}, format="json")
    assert response.status_code == 202, response.content


def _webhook_workflow(workspace, **config):
    return publish(workspace, [node("t", "trigger_manual"), node("h", "webhook", config)], chain("t", "h"))


def _run(api, workspace, contact, *, before_run=None, **config):
    workflow = _webhook_workflow(workspace, **config)
    if before_run is not None:
        before_run()
    _enroll(api, workflow, contact)
    run_due()
    return Enrollment.objects.get(workflow=workflow)


def _step(enrollment, attempt: int | None = None) -> StepRun:
    steps = StepRun.objects.filter(enrollment=enrollment, node_id="h").order_by("sequence")
    return list(steps)[-1] if attempt is None else steps.get(attempt=attempt)


def test_a_webhook_step_sends_a_signed_request_and_records_the_answer(api, workspace, receiver, secret):
    contact = ContactFactory(workspace=workspace, email="grace@x.test", first_name="Grace")
    receiver.answer(Answer(201, {"Content-Type": "application/json", "Set-Cookie": "s=1"}, b'{"id": 7}'))

    enrollment = _run(api, workspace, contact, url=receiver.url + "/hooks?who={{ contact.first_name }}",
                      headers={"X-Source": "penguinflow {{ contact.email }}"},
                      body={"email": "{{ contact.email }}", "n": 3, "tags": ["a", "{{ contact.first_name }}"]})

    assert enrollment.status == "completed"
    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks?who=Grace")
    assert request.headers["X-Source"] == "penguinflow grace@x.test"
    assert request.headers["Content-Type"] == "application/json"
    payload = Verifier(secret).verify(request.body, request.headers)
    assert payload == {"email": "grace@x.test", "n": 3, "tags": ["a", "Grace"]}
    step = _step(enrollment)
    assert step.status == "succeeded"
    assert step.detail["status_code"] == 201
    assert step.detail["webhook_id"] == request.headers["webhook-id"]
    assert step.detail["sent_url"] == receiver.url + "/hooks?who=Grace"
    response = step.detail["response"]
    assert (response["status"], response["body"], response["body_truncated"]) == (201, '{"id": 7}', False)
    assert response["headers"]["content-type"] == "application/json"
    assert "set-cookie" not in response["headers"]


def test_during_a_rotation_both_secrets_sign_and_either_verifies(api, workspace, receiver, secret):
    newer = signing_secret_rotate(workspace=workspace, overlap_hours=24).secret
    contact = ContactFactory(workspace=workspace)
    _run(api, workspace, contact, url=receiver.url, body={"x": 1})
    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert Verifier(secret).verify(request.body, request.headers) == {"x": 1}
    assert Verifier(newer).verify(request.body, request.headers) == {"x": 1}


def test_after_the_overlap_only_the_new_secret_signs(api, workspace, receiver, secret):
    newer = signing_secret_rotate(workspace=workspace, overlap_hours=0).secret
    _run(api, workspace, ContactFactory(workspace=workspace), url=receiver.url, body={"x": 1})
    (request,) = receiver.requests
    assert Verifier(newer).verify(request.body, request.headers) == {"x": 1}
    with pytest.raises(Exception, match="No matching signature"):
        Verifier(secret).verify(request.body, request.headers)


def test_without_a_signing_secret_publish_refuses_the_step(api, workspace):
    graph = {"nodes": [node("t", "trigger_manual"), node("h", "webhook", {"url": "https://hooks.example.com/x"})],
             "edges": chain("t", "h")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert published.status_code == 422
    assert [e["code"] for e in published.json()["error"]["details"]["errors"]] == ["webhook_secret_missing"]


def test_a_secret_revoked_after_publishing_fails_the_step_for_good_and_says_how_to_make_one(
        api, workspace, receiver, secret):
    enrollment = _run(api, workspace, ContactFactory(workspace=workspace), url=receiver.url,
                      before_run=lambda: [signing_secret_revoke(secret=row)
                                          for row in WebhookSigningSecret.objects.filter(workspace=workspace)])
    assert enrollment.status == "failed"
    assert "no webhook signing secret" in enrollment.error["message"]
    assert receiver.requests == []


def test_contact_data_with_quotes_and_braces_stays_a_string_in_the_json_body(api, workspace, receiver, secret):
    hostile = 'x", "admin": true, "y": {"z": "}} {{'
    contact = ContactFactory(workspace=workspace, first_name='Ro"b', fields={"note": hostile})
    _run(api, workspace, contact, url=receiver.url,
         body={"note": "{{ contact.fields.note }}", "name": "{{ contact.first_name }}", "literal": "{not liquid"})
    payload = json.loads(receiver.requests[0].body)
    assert payload == {"note": hostile, "name": 'Ro"b', "literal": "{not liquid"}


def test_a_rendered_header_with_a_line_break_is_refused(api, workspace, receiver, secret):
    contact = ContactFactory(workspace=workspace, fields={"v": "ok\r\nX-Injected: yes"})
    enrollment = _run(api, workspace, contact, url=receiver.url, headers={"X-Note": "{{ contact.fields.v }}"})
    assert enrollment.status == "failed"
    assert "line break" in enrollment.error["message"]
    assert receiver.requests == []


@pytest.mark.parametrize("name", ["webhook-signature", "Host", "Content-Length", "Transfer-Encoding", "Bad Name"])
def test_headers_penguinflow_sets_cannot_be_given_in_the_config(api, workspace, secret, name):
    graph = {"nodes": [node("t", "trigger_manual"),
                       node("h", "webhook", {"url": "https://hooks.example.com/x", "headers": {name: "v"}})],
             "edges": chain("t", "h")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert response.status_code == 422
    assert [e["code"] for e in response.json()["error"]["details"]["errors"]] == ["invalid_config"]


SSRF_HOSTS = ["127.1", "0x7f000001", "2130706433", "017700000001", "[::ffff:127.0.0.1]", "[::1]",
              "169.254.169.254", "[fd00:ec2::254]", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1",
              "[fc00::1]", "0.0.0.0", "user@127.0.0.1"]


@pytest.mark.parametrize("host", SSRF_HOSTS)
def test_publish_and_validate_refuse_a_literal_internal_url(api, secret, host):
    graph = {"nodes": [node("t", "trigger_manual"), node("h", "webhook", {"url": f"http://{host}/hook"})],
             "edges": chain("t", "h")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    validated = api.post(f"/api/v1/workflows/{workflow_id}/validate", {}, format="json").json()
    published = api.post(f"/api/v1/workflows/{workflow_id}/publish")
    assert published.status_code == 422
    errors = published.json()["error"]["details"]["errors"]
    assert [(e["code"], e["node_id"]) for e in errors] == [("webhook_url_refused", "h")]
    assert validated["errors"] == errors


@pytest.mark.parametrize("host", [*SSRF_HOSTS, "localhost"])
def test_a_url_rendered_to_an_internal_address_is_refused_when_sent(api, workspace, secret, settings, host):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    contact = ContactFactory(workspace=workspace, fields={"host": host})
    enrollment = _run(api, workspace, contact, url="http://{{ contact.fields.host }}/hook")
    assert enrollment.status == "failed"
    assert enrollment.error["message"].startswith("The webhook was not sent:")
    step = _step(enrollment)
    assert (step.status, step.attempt, step.error_type) == ("failed", 1, "PortError")
    assert step.detail["permanent"] is True


def test_a_redirect_is_recorded_not_followed(api, workspace, receiver, secret):
    receiver.answer(Answer(302, {"Location": "http://127.0.0.1:1/internal"}, b""))
    enrollment = _run(api, workspace, ContactFactory(workspace=workspace), url=receiver.url + "/hook")
    assert enrollment.status == "completed"
    assert len(receiver.requests) == 1
    response = _step(enrollment).detail["response"]
    assert (response["status"], response["headers"]["location"]) == (302, "http://127.0.0.1:1/internal")


def test_the_recorded_body_is_capped_at_64_kib(api, workspace, receiver, secret):
    receiver.answer(Answer(200, {"Content-Type": "text/plain"}, b"z" * 200_000))
    enrollment = _run(api, workspace, ContactFactory(workspace=workspace), url=receiver.url)
    response = _step(enrollment).detail["response"]
    assert (len(response["body"]), response["body_truncated"]) == (64 * 1024, True)


@pytest.mark.parametrize("status", [400, 404, 410, 422])
def test_a_4xx_fails_the_step_for_good_with_the_status_and_the_body(api, workspace, receiver, secret, status):
    receiver.answer(Answer(status, {"Content-Type": "text/plain"}, b"no such  hook\n here"))
    enrollment = _run(api, workspace, ContactFactory(workspace=workspace), url=receiver.url)
    assert enrollment.status == "failed"
    assert enrollment.error["message"] == f"The receiver answered {status}: no such hook here"
    step = _step(enrollment)
    assert (step.attempt, step.detail["permanent"]) == (1, True)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [408, 500, 502])
def test_408_and_5xx_are_retried_with_the_same_webhook_id(api, workspace, receiver, secret, status):
    receiver.answer(Answer(status, {}, b"busy"), Answer(200))
    workflow = _webhook_workflow(workspace, url=receiver.url, body={"a": 1})
    _enroll(api, workflow, ContactFactory(workspace=workspace))
    start = timezone.now()
    run_due(now=start)
    enrollment = Enrollment.objects.get(workflow=workflow)
    assert enrollment.status == "waiting"
    first = _step(enrollment, attempt=1)
    assert first.status == "failed" and first.detail["reason"] == f"The receiver answered {status}: busy"

    run_due(now=start + timedelta(hours=1))

    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert _step(enrollment, attempt=2).detail["webhook_id"] == ids[0]


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_earliest_retry(api, workspace, receiver, secret, status):
    receiver.answer(Answer(status, {"Retry-After": "1200"}, b""))
    workflow = _webhook_workflow(workspace, url=receiver.url)
    _enroll(api, workflow, ContactFactory(workspace=workspace))
    start = timezone.now()
    run_due(now=start)
    enrollment = Enrollment.objects.get(workflow=workflow)
    # The policy's first delay is about 30 s; the receiver asked for 20 minutes.
    assert enrollment.next_run_at - start >= timedelta(seconds=1200)
    retry_at = _step(enrollment).detail["retry_at"]
    assert retry_at == (start + (enrollment.next_run_at - start)).isoformat()
    assert run_due(now=start + timedelta(seconds=600)) == 0
    assert len(receiver.requests) == 1


def test_retry_after_reads_seconds_and_http_dates_and_is_capped():
    now = timezone.now()
    assert retry_after_of("120") == timedelta(seconds=120)
    in_ten_minutes = (now + timedelta(minutes=10)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert timedelta(minutes=9) < retry_after_of(in_ten_minutes, now=now) <= timedelta(minutes=10)
    assert retry_after_of("999999") == timedelta(hours=1)
    assert retry_after_of("soon") is None and retry_after_of(None) is None


def test_the_preview_is_the_request_the_step_sends(api, workspace, receiver, secret):
    contact = ContactFactory(workspace=workspace, email="ada@x.test")
    config = {"url": receiver.url + "/p?e={{ contact.email }}", "method": "PUT",
              "headers": {"Authorization": "Bearer t"}, "body": {"e": "{{ contact.email }}"}}
    enrollment = _run(api, workspace, contact, **config)
    key = f"{enrollment.pk}:h:1"
    preview = webhook_request_preview(workspace=workspace, key=key, data={"contact": {"email": "ada@x.test"}},
                                      **config)
    (sent,) = receiver.requests
    assert (preview["method"], preview["url"]) == ("PUT", receiver.url + "/p?e=ada@x.test")
    assert preview["body"].encode() == sent.body
    for name in ("webhook-id", "Content-Type", "Authorization", "User-Agent"):
        assert preview["headers"][name] == sent.headers[name]
    assert Verifier(secret).verify(preview["body"], preview["headers"]) == {"e": "ada@x.test"}


def test_a_workspace_sees_only_its_own_webhook_answers(api, other_api, workspace, receiver, secret):
    receiver.answer(Answer(200, {}, b"private answer"))
    enrollment = _run(api, workspace, ContactFactory(workspace=workspace), url=receiver.url)
    mine = api.get(f"/api/v1/executions/{enrollment.pk}").json()
    assert [s["detail"]["response"]["body"] for s in mine["steps"] if s["node_id"] == "h"] == ["private answer"]
    assert other_api.get(f"/api/v1/executions/{enrollment.pk}").status_code == 404
    assert other_api.get("/api/v1/executions").json()["results"] == []


def test_the_simulator_shows_the_rendered_request_without_sending(api, workspace):
    graph = {"nodes": [node("t", "trigger_manual"),
                       node("h", "webhook", {"url": "https://hooks.example.com/{{ contact.email }}",
                                             "body": {"e": "{{ contact.email }}"}})],
             "edges": chain("t", "h")}
    workflow_id = api.post("/api/v1/workflows", {"name": "X", "graph": graph}, format="json").json()["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/simulate",
                        {"contact": {"email": "sim@x.test"}}, format="json")
    assert response.status_code == 200, response.content
    assert "https://hooks.example.com/sim@x.test" in json.dumps(response.json())


def test_non_ascii_in_the_url_is_percent_encoded_and_in_a_header_refused(api, workspace, receiver, secret):
    contact = ContactFactory(workspace=workspace, first_name="Zoë 日本")
    enrollment = _run(api, workspace, contact, url=receiver.url + "/p?n={{ contact.first_name | replace: ' ', '-' }}")
    assert enrollment.status == "completed"
    assert receiver.requests[0].path == "/p?n=Zo%C3%AB-%E6%97%A5%E6%9C%AC"
    other = ContactFactory(workspace=workspace, first_name="日本")
    refused = _run(api, workspace, other, url=receiver.url, headers={"X-Name": "{{ contact.first_name }}"})
    assert refused.status == "failed" and "characters a header cannot carry" in refused.error["message"]
