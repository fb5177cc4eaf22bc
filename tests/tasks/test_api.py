"""`GET|POST /api/v1/tasks`, `GET|PATCH /api/v1/tasks/{id}` (CONTRACT §5a): shape, filters, references, errors,
and the workspace's walls."""

from __future__ import annotations

from tasks.models import Task
from tests.api.test_errors import assert_error
from tests.factories import ContactFactory, MembershipFactory, UserFactory

FIELDS = {"id", "title", "description", "assignee", "due_at", "status", "contact", "execution", "created_at"}


def _member(workspace, email: str):
    return MembershipFactory(workspace=workspace, user=UserFactory(email=email)).user


def test_create_then_read_a_task(api, workspace):
    _member(workspace, "sales@acme.test")
    contact = ContactFactory(workspace=workspace)
    created = api.post("/api/v1/tasks", {"title": "Call back", "description": "Asked for a demo",
                                         "assignee": "sales@acme.test", "due_at": "2030-01-02T09:00:00Z",
                                         "contact": str(contact.pk)}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == FIELDS
    assert (body["title"], body["assignee"], body["status"], body["contact"], body["execution"]) == (
        "Call back", "sales@acme.test", "open", str(contact.pk), None)
    assert body["due_at"].startswith("2030-01-02T09:00:00")
    assert api.get(f"/api/v1/tasks/{body['id']}").json() == body


def test_list_filters_by_assignee_status_and_contact(api, workspace):
    sales = _member(workspace, "sales@acme.test")
    ada, bob = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    mine = Task.objects.create(workspace=workspace, title="Mine", assignee=sales, contact=ada)
    Task.objects.create(workspace=workspace, title="Done", assignee=sales, contact=bob, status="done")
    Task.objects.create(workspace=workspace, title="Nobody's", contact=ada)

    def titles(query: str) -> set[str]:
        response = api.get(f"/api/v1/tasks{query}")
        assert response.status_code == 200, response.content
        return {item["title"] for item in response.json()["results"]}

    assert titles("") == {"Mine", "Done", "Nobody's"}
    assert titles("?assignee=SALES@acme.test") == {"Mine", "Done"}
    assert titles("?status=open") == {"Mine", "Nobody's"}
    assert titles(f"?contact={ada.pk}") == {"Mine", "Nobody's"}
    assert titles(f"?assignee=sales@acme.test&status=open&contact={ada.pk}") == {mine.title}
    assert_error(api.get("/api/v1/tasks?status=later"), 400, "validation_error")
    assert_error(api.get("/api/v1/tasks?contact=not-a-uuid"), 400, "validation_error")


def test_patch_marks_done_and_reassigns(api, workspace):
    _member(workspace, "b@acme.test")
    task = Task.objects.create(workspace=workspace, title="Call")
    response = api.patch(f"/api/v1/tasks/{task.pk}", {"status": "done", "assignee": "b@acme.test"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["assignee"], response.json()["title"]) == (
        "done", "b@acme.test", "Call")
    unassigned = api.patch(f"/api/v1/tasks/{task.pk}", {"assignee": None}, format="json").json()
    assert unassigned["assignee"] is None
    task.refresh_from_db()
    assert (task.status, task.assignee) == ("done", None)


def test_bad_input_is_refused_in_the_contract_format(api, workspace, other_workspace):
    assert_error(api.post("/api/v1/tasks", {"description": "no title"}, format="json"), 400, "validation_error")
    assert_error(api.post("/api/v1/tasks", {"title": "   "}, format="json"), 400, "validation_error")
    assert_error(api.post("/api/v1/tasks", {"title": 5}, format="json"), 400, "validation_error")
    assert_error(api.post("/api/v1/tasks", {"title": "T", "status": "later"}, format="json"), 400,
                 "validation_error")
    _member(other_workspace, "outsider@globex.test")
    error = assert_error(api.post("/api/v1/tasks", {"title": "T", "assignee": "outsider@globex.test"},
                                  format="json"), 404, "not_found")
    assert "assignee" in error["details"]
    foreign = ContactFactory(workspace=other_workspace)
    assert_error(api.post("/api/v1/tasks", {"title": "T", "contact": str(foreign.pk)}, format="json"), 404,
                 "not_found")
    assert_error(api.put(f"/api/v1/tasks/{Task.objects.create(workspace=workspace, title='T').pk}",
                         {"title": "T"}, format="json"), 405)
    assert not Task.objects.filter(workspace=workspace).exclude(title="T").exists()


def test_another_workspaces_key_sees_404(api, other_api, workspace):
    task = Task.objects.create(workspace=workspace, title="Ours")
    assert_error(other_api.get(f"/api/v1/tasks/{task.pk}"), 404, "not_found")
    assert_error(other_api.patch(f"/api/v1/tasks/{task.pk}", {"status": "done"}, format="json"), 404, "not_found")
    assert other_api.get("/api/v1/tasks").json()["results"] == []
    task.refresh_from_db()
    assert task.status == "open"


def test_the_schema_describes_the_task_endpoints(api):
    schema = api.get("/api/schema/?format=json").json()
    assert set(schema["paths"]["/api/v1/tasks/"]) >= {"get", "post"}
    assert {"get", "patch"} <= set(schema["paths"]["/api/v1/tasks/{id}/"]) and \
        "put" not in schema["paths"]["/api/v1/tasks/{id}/"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/tasks/"]["get"]["parameters"]}
    assert {"assignee", "status", "contact", "cursor", "limit"} <= parameters
    assert "404" in schema["paths"]["/api/v1/tasks/"]["post"]["responses"]
