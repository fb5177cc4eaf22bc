"""The CSV export (API and command) and a contact's merged timeline."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from events.services import NewEvent, events_store
from tests.factories import ContactFactory
from tests.workflows.builders import run_due
from workflows.execution_export import HEADER
from workflows.models import Enrollment

pytestmark = pytest.mark.django_db


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_streams_a_header_and_one_row_per_filtered_execution(api, workspace, failing):
    contacts = [ContactFactory(workspace=workspace) for _ in range(3)]
    failing.enroll(*contacts)
    run_due()
    response = api.get("/api/v1/executions/export.csv", {"status": "failed"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0] == ",".join(HEADER)
    rows = _rows(text)
    assert {r["contact_email"] for r in rows} == {c.email for c in contacts}
    assert {r["error_type"] for r in rows} == {"PortError"} and {r["current_node"] for r in rows} == {"c"}
    assert api.get("/api/v1/executions/export.csv", {"status": "nope"}).status_code == 400


def test_export_lists_every_execution_once_newest_first_in_chunks(workspace, failing, monkeypatch):
    from workflows import execution_export
    from workflows.execution_query import ExecutionQuery, executions_matching

    failing.enroll(*[ContactFactory(workspace=workspace, email=f"zoë{n}@example.com") for n in range(7)])
    run_due()
    monkeypatch.setattr(execution_export, "CHUNK", 100)  # several chunks, split between rows
    chunks = list(execution_export.csv_chunks(executions_matching(workspace=workspace, query=ExecutionQuery())))
    assert len(chunks) > 3
    rows = _rows("".join(chunks))
    assert sorted(r["id"] for r in rows) == sorted(str(pk) for pk in Enrollment.objects.values_list("pk", flat=True))
    assert [r["entered_at"] for r in rows] == sorted((r["entered_at"] for r in rows), reverse=True)
    assert rows[0]["entered_at"].count("T") == 1 and rows[0]["finished_at"] and rows[0]["next_run_at"] == ""
    assert {r["contact_email"][:3] for r in rows} == {"zoë"} and rows[0]["version"] == "1"


def test_export_command_writes_a_file_or_stdout(tmp_path, workspace, failing):
    failing.enroll(ContactFactory(workspace=workspace), ContactFactory(workspace=workspace))
    run_due()
    target = tmp_path / "out.csv"
    call_command("export_executions", "--workspace", "acme", "--error-type", "PortError", "-o", str(target),
                 stderr=io.StringIO())
    assert len(_rows(target.read_text())) == 2
    out = io.StringIO()
    call_command("export_executions", "--status", "completed", stdout=out)
    assert _rows(out.getvalue()) == []


def test_timeline_merges_events_and_steps_newest_first_with_cursor_pages(api, workspace, failing):
    contact = ContactFactory(workspace=workspace)
    failing.enroll(contact)
    run_due()
    events_store(workspace=workspace.pk, events=[NewEvent(type="page.viewed", contact_id=contact.pk,
                                                          properties={"path": "/pricing"})])
    everything = api.get(f"/api/v1/contacts/{contact.pk}/timeline").json()
    kinds = [item["kind"] for item in everything["results"]]
    assert "event" in kinds and kinds.count("step") == 2
    ats = [item["at"] for item in everything["results"]]
    assert ats == sorted(ats, reverse=True)
    step = next(item for item in everything["results"] if item["kind"] == "step" and item["node_id"] == "c")
    assert step["status"] == "failed" and step["workflow"] == str(failing.workflow.pk)
    assert step["version"] == 1
    assert step["detail"]["error"]["type"] == "PortError"
    walked, url = [], f"/api/v1/contacts/{contact.pk}/timeline?limit=1"
    while url:
        page = api.get(url).json()
        walked += page["results"]
        url = page["next"] and f"/api/v1/contacts/{contact.pk}/timeline?limit=1&cursor={page['next']}"
    assert [i["id"] for i in walked] == [i["id"] for i in everything["results"]]
    only_steps = api.get(f"/api/v1/contacts/{contact.pk}/timeline", {"kind": "step"}).json()["results"]
    assert {i["kind"] for i in only_steps} == {"step"}
    of_workflow = api.get(f"/api/v1/contacts/{contact.pk}/timeline", {"workflow": str(failing.workflow.pk)})
    assert {i["kind"] for i in of_workflow.json()["results"]} == {"step"}


def test_timeline_bad_input_and_isolation(api, other_api, workspace):
    contact = ContactFactory(workspace=workspace)
    url = f"/api/v1/contacts/{contact.pk}/timeline"
    assert other_api.get(url).status_code == 404
    assert api.get("/api/v1/contacts/not-a-uuid/timeline").status_code == 404
    for params, field in (({"kind": "x"}, "kind"), ({"cursor": "zz"}, "cursor"), ({"workflow": "x"}, "workflow"),
                          ({"colour": "red"}, "colour")):
        response = api.get(url, params)
        assert response.status_code == 400 and field in response.json()["error"]["details"]

