"""`manage.py workflows diff A B`: a change described in words, with the running contacts it affects."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.engine.graphs import chain, edge, node
from tests.factories import ContactFactory
from tests.workflows.builders import publish, run_due
from workflows.engine.graph import Graph
from workflows.engine.graph_diff import graph_diff
from workflows.models import WorkflowVersion
from workflows.services import workflow_draft_save


@pytest.fixture(autouse=True)
def _empty_queue():
    import django_rq

    django_rq.get_queue("engine").empty()
    yield


def _diff(*args) -> list[str]:
    out = io.StringIO()
    call_command("workflows", "diff", *map(str, args), stdout=out)
    return out.getvalue().splitlines()


def test_the_engine_names_added_removed_and_changed_nodes_edges_and_config_fields():
    old = Graph.from_builder(
        {
            "nodes": [
                node("t", "trigger_manual"),
                node("d", "delay", {"duration": "P3D"}),
                node("c", "condition", {"rule": {"==": [1, 1]}}),
                node("x", "add_tag", {"tag": "a"}),
            ],
            "edges": [*chain("t", "d", "c"), edge("c", "x", "yes")],
        }
    )
    new = Graph.from_builder(
        {
            "nodes": [
                node("t", "trigger_manual"),
                node("d", "delay", {"duration": "P1D"}),
                node("c", "condition", {"rule": {"==": [1, 2]}}, label="Check"),
                node("y", "remove_tag", {"tag": "a"}),
            ],
            "edges": [*chain("t", "d", "c"), edge("c", "y", "yes")],
        }
    )
    diff = graph_diff(old, new)
    assert diff.sentences() == [
        "Node d (delay) changed: config.duration (P3D → P1D).",
        "Node c (condition) changed: label, config.rule.",
        "Node x (add_tag) removed.",
        "Node y (remove_tag) added.",
        "Edge c [yes] now goes to y (was x).",
    ]
    assert diff.touched_nodes == {"d", "c", "x"}
    assert graph_diff(old, old).sentences() == ["No change."]


def test_diff_of_a_version_and_the_draft_names_the_running_contacts_it_affects(workspace, api):
    nodes = [
        node("t", "trigger_manual"),
        node("d1", "delay", {"duration": "P3D"}),
        node("a1", "add_tag", {"tag": "x"}),
    ]
    workflow = publish(workspace, nodes, chain("t", "d1", "a1"), name="Welcome")
    contacts = [{"id": str(ContactFactory(workspace=workspace).pk)} for _ in range(2)]
    api.post(f"/api/v1/workflows/{workflow.pk}/enroll", {"contacts": contacts}, format="json")
    run_due()
    draft = WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)
    workflow_draft_save(
        workflow=workflow,
        graph={"nodes": [nodes[0], nodes[2]], "edges": chain("t", "a1")},
        settings={"max_steps_per_enrollment": 50},
        revision=draft.revision,
    )
    assert _diff("Welcome@1", "Welcome@draft", "--workspace", "acme") == [
        "Welcome v1 → Welcome draft",
        "  Node d1 (delay) removed.",
        "  Edge d1 → a1 removed.",
        "  Edge t now goes to a1 (was d1).",
        "  Settings changed: max_steps_per_enrollment.",
        "Running contacts it affects (they stay on their version unless migrated):",
        "  v1 node d1 (removed): 2 live contact(s): map it to a node of the new version or to 'exit' to migrate them",
    ]


def test_diff_of_two_files(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(
        "kind: workflow\nname: W\nnodes: [{id: t, type: trigger_manual}, {id: x, type: add_tag, config: "
        "{tag: a}}]\nedges: [{from: t, to: x}]\n"
    )
    b.write_text(a.read_text().replace("tag: a", "tag: b"))
    assert _diff(a, b) == [
        f"{a} (W) → {b} (W)",
        "  Node x (add_tag) changed: config.tag (a → b).",
        "No running contact stands at a node it changes.",
    ]


def test_a_side_that_is_neither_a_file_nor_a_version_is_refused(tmp_path):
    with pytest.raises(CommandError, match="Give a workflow file, or <workflow name or id>@<version"):
        _diff(tmp_path / "missing.yaml", tmp_path / "other.yaml")
