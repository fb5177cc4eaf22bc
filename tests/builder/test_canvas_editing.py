"""Canvas editing: dynamic branches described by the server, sticky notes stored with the graph, and the journeys
through the canvas that use them (command menu, insert on an edge, notes, labelled issues, the side panel)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from workflows.canvas_notes import MAX_NOTE_TEXT, MAX_NOTES
from workflows.engine.graph import Graph
from workflows.engine.registry import registry
from workflows.models import Step, WorkflowVersion

GRAPH = {
    "nodes": [
        {
            "id": "n1",
            "type": "trigger_event",
            "position": {"x": 0, "y": 0},
            "data": {"label": "Signed up", "config": {"event": "contact.created"}},
        },
        {
            "id": "n2",
            "type": "delay",
            "position": {"x": 0, "y": 150},
            "data": {"label": "Wait a day", "config": {"duration": "P1D"}},
        },
    ],
    "edges": [{"id": "e1", "source": "n1", "target": "n2", "sourceHandle": "default"}],
}
NOTE = {
    "id": "note_1",
    "text": "Ask Ada before changing the delay.",
    "position": {"x": 300, "y": 40},
    "width": 240,
    "height": 150,
}


def note(**changes):
    return {**NOTE, **changes}


# --- dynamic branches ----------------------------------------------------------------------------------------


def node_type_answer(api, type_name: str) -> dict:
    response = api.get("/api/v1/node-types")
    assert response.status_code == 200
    return next(item for item in response.json() if item["type"] == type_name)


def test_switch_describes_its_cases_and_its_default_branch(api):
    switch = node_type_answer(api, "switch")
    assert switch["branches"] == "dynamic"
    assert switch["branch_source"] == {"items": "cases", "id": "id", "label": "label", "always": ["default"]}


def test_split_describes_its_variants_with_no_branch_of_its_own(api):
    split = node_type_answer(api, "split")
    assert split["branches"] == "dynamic"
    assert split["branch_source"] == {"items": "variants", "id": "id", "label": "label", "always": []}


def test_a_fixed_list_of_branches_has_no_branch_source(api):
    assert node_type_answer(api, "condition")["branch_source"] is None


def test_every_dynamic_type_says_where_its_branches_are_and_agrees_with_the_engine():
    for node in registry.all():
        if node.branches != "dynamic":
            continue
        source = node.branch_source
        assert source is not None, f"{node.type} has dynamic branches but no branch_source"
        # The items' ids then `always`, as the builder computes them, are the branches the engine takes.
        sample = {"cases": [{"id": "a", "rule": {"==": [1, 1]}}], "variants": [{"id": "a", "weight": 1}]}
        config = node.parse_config({source.items: sample[source.items]})
        assert node.branches_for(config) == ("a", *source.always)


# --- sticky notes ------------------------------------------------------------------------------------------------


def create(api, graph) -> dict:
    response = api.post("/api/v1/workflows", {"name": "Notes", "graph": graph}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def save(api, workflow_id: str, graph, revision: int = 1):
    return api.put(
        f"/api/v1/workflows/{workflow_id}/draft",
        {"graph": graph, "settings": {}, "revision": revision},
        format="json",
    )


def test_notes_round_trip_with_the_draft(api):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    assert workflow["draft"]["graph"]["notes"] == [NOTE]
    moved = note(text="Moved", position={"x": 10.4, "y": -20.6})
    assert save(api, workflow["id"], {**GRAPH, "notes": [moved]}).status_code == 200
    stored = api.get(f"/api/v1/workflows/{workflow['id']}").json()["draft"]["graph"]
    assert stored["notes"] == [note(text="Moved", position={"x": 10, "y": -21})]
    assert stored["nodes"] == GRAPH["nodes"]


def test_a_graph_without_notes_answers_as_before(api):
    workflow = create(api, GRAPH)
    assert workflow["draft"]["graph"] == GRAPH
    assert WorkflowVersion.objects.get(workflow_id=workflow["id"]).notes == []


def test_saving_without_notes_removes_them(api):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    assert save(api, workflow["id"], GRAPH).status_code == 200
    assert "notes" not in api.get(f"/api/v1/workflows/{workflow['id']}").json()["draft"]["graph"]


@pytest.mark.parametrize(
    ("notes", "path"),
    [
        ("not a list", "graph.notes"),
        ([note(text="x" * (MAX_NOTE_TEXT + 1))], "graph.notes[0].text"),
        ([note(id="")], "graph.notes[0].id"),
        ([note(id="x" * 65)], "graph.notes[0].id"),
        ([note(width=10)], "graph.notes[0].width"),
        ([note(height=5000)], "graph.notes[0].height"),
        ([note(position={"x": "0", "y": 0})], "graph.notes[0].position.x"),
        ([note(position={"x": 1e12, "y": 0})], "graph.notes[0].position.x"),
        ([note(colour="red")], "graph.notes[0].colour"),
        ([note(), note()], "graph.notes"),
        ([note(id=f"n{index}") for index in range(MAX_NOTES + 1)], "graph.notes"),
    ],
)
def test_bad_notes_are_refused_with_400_naming_the_field_and_nothing_is_written(api, notes, path):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    response = save(api, workflow["id"], {**GRAPH, "notes": notes})
    assert response.status_code == 400, response.content
    assert path in response.json()["error"]["details"], response.json()
    draft = WorkflowVersion.objects.get(workflow_id=workflow["id"], number__isnull=True)
    assert (draft.revision, draft.notes) == (1, [NOTE])


def test_as_many_notes_as_allowed_are_kept(api):
    notes = [note(id=f"n{index}", text="x" * MAX_NOTE_TEXT) for index in range(MAX_NOTES)]
    workflow = create(api, {**GRAPH, "notes": notes})
    assert len(workflow["draft"]["graph"]["notes"]) == MAX_NOTES


def test_publish_copies_the_notes_into_the_version_and_they_stay_put(api):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    response = api.post(f"/api/v1/workflows/{workflow['id']}/publish")
    assert response.status_code == 200, response.content
    version = api.get(f"/api/v1/workflows/{workflow['id']}/versions/1").json()
    assert version["graph"]["notes"] == [NOTE]
    # Later draft edits leave the published notes as they were, and the database refuses to change them.
    assert save(api, workflow["id"], {**GRAPH, "notes": []}, revision=1).status_code == 200
    assert api.get(f"/api/v1/workflows/{workflow['id']}/versions/1").json()["graph"]["notes"] == [NOTE]
    published = WorkflowVersion.objects.get(workflow_id=workflow["id"], number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowVersion.objects.filter(pk=published.pk).update(notes=[])


def test_duplicate_copies_the_notes(api):
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    copy = api.post(f"/api/v1/workflows/{workflow['id']}/duplicate").json()
    assert copy["draft"]["graph"]["notes"] == [NOTE]


def test_the_engine_never_sees_notes(api):
    assert Graph.from_builder({**GRAPH, "notes": [NOTE]}) == Graph.from_builder(GRAPH)
    workflow = create(api, {**GRAPH, "notes": [NOTE]})
    api.post(f"/api/v1/workflows/{workflow['id']}/publish")
    published = WorkflowVersion.objects.get(workflow_id=workflow["id"], number=1)
    assert sorted(Step.objects.filter(version=published).values_list("node_id", flat=True)) == ["n1", "n2"]
    assert all("notes" not in step.extra for step in Step.objects.filter(version=published))
    simulated = api.post(
        f"/api/v1/workflows/{workflow['id']}/simulate",
        {
            "version": "draft",
            "contact": {"email": "ada@example.com"},
            "events": [{"after": "PT1M", "type": "contact.created"}],
            "until": "P3D",
        },
        format="json",
    )
    assert simulated.status_code == 200, simulated.content
    assert simulated.json()["status"] == "completed"
    assert {step["node_id"] for step in simulated.json()["path"]} == {"n1", "n2"}
