"""Journey tests (CONTRACT §17's `workflows test`): scenario files run through the simulator, compared with the
path, actions and final status they expect.

A journey file sits next to the workflow files::

    kind: journey
    workflow: Welcome            # the workflow's name (a file among those given, or --workspace's published one)
    name: an opener is tagged
    contact: {email: ada@example.com, tags: [trial]}
    start: 2026-11-23T08:00:00Z  # optional: the simulation's clock starts here (default: a fixed Monday)
    until: P30D
    events:
      - {after: P1D, type: email.opened}
    expect:
      path: [t, m1, d1, a1]      # the nodes entered, in order
      actions: [send_email@m1, add_tag@a1]
      status: completed

A file may hold one journey or a list of them (`journeys: [...]`). The simulator is the live runner on a virtual
clock with recording ports, so a changed path here is a changed path in production.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import yaml

from penguinflow.common.errors import DomainError
from workflows import version_graphs as graphs
from workflows.as_code import Document, _builder_graph
from workflows.engine.errors import EngineInputError
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.simulator import simulate

DEFAULT_START = "2026-01-05T09:00:00Z"  # a Monday: journeys that name no start are reproducible


@dataclass
class JourneyResult:
    file: str
    name: str
    workflow: str
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


def journeys_in(
    files: Mapping[str, str],
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Return the journeys (file, spec) and the workflow documents (by name) among the files."""
    journeys, workflows = [], {}
    for path in sorted(files):
        try:
            data = yaml.safe_load(files[path])
        except yaml.YAMLError as error:
            journeys.append((path, {"_error": f"Not valid YAML or JSON: {str(error).splitlines()[0]}"}))
            continue
        if not isinstance(data, dict):
            continue
        if data.get("kind") == "workflow":
            workflows[str(data.get("name"))] = {"path": path, **data}
        elif data.get("kind") == "journey":
            specs = data.get("journeys") if isinstance(data.get("journeys"), list) else [data]
            journeys += [(path, {"workflow": data.get("workflow"), **spec}) for spec in specs]
    return journeys, workflows


def journeys_run(
    *, files: Mapping[str, str], versions: Mapping[str, tuple[Graph, WorkflowSettings]] | None = None
) -> list[JourneyResult]:
    """Run every journey among the files against the workflow files (or `versions`, by workflow name)."""
    journeys, documents = journeys_in(files)
    results = []
    for path, spec in journeys:
        result = JourneyResult(path, str(spec.get("name") or path), str(spec.get("workflow") or ""))
        results.append(result)
        if "_error" in spec:
            result.error = spec["_error"]
            continue
        try:
            graph, settings = _workflow_for(result.workflow, documents, versions)
            outcome = simulate(
                graph=graph,
                settings=settings,
                contact=spec.get("contact") or {},
                start=str(spec.get("start") or DEFAULT_START),
                events=spec.get("events") or [],
                until=str(spec.get("until") or "P60D"),
                seed=int(spec.get("seed") or 0),
            )
        except (EngineInputError, DomainError, ValueError, TypeError) as error:
            details = getattr(error, "details", None)
            result.error = f"{error}" + (f" {details}" if details else "")
            continue
        result.failures = _compare(spec.get("expect") or {}, outcome)
    return results


def _workflow_for(
    name: str,
    documents: Mapping[str, dict[str, Any]],
    versions: Mapping[str, tuple[Graph, WorkflowSettings]] | None,
) -> tuple[Graph, WorkflowSettings]:
    if versions is not None:
        if name not in versions:
            raise ValueError(f"The workspace has no published workflow named {name!r}.")
        return versions[name]
    if name not in documents:
        raise ValueError(f"No workflow file defines {name!r}: give its file beside the journey.")
    document = documents[name]
    graph = graphs.parse_graph(_builder_graph(Document(document["path"], document)))
    return graph, graphs.parse_settings(document.get("settings") or {})


def _entered(outcome) -> list[str]:
    """Return the nodes entered in order: a node that parks (a wait, a retry) and then goes on is one entry."""
    nodes: list[str] = []
    previous: dict[str, Any] | None = None
    for step in outcome.path:
        continuing = (
            previous is not None
            and previous["node_id"] == step["node_id"]
            and previous["outcome"] in ("wait", "retry")
        )
        if not continuing:
            nodes.append(step["node_id"])
        previous = step
    return nodes


def _described_path(outcome) -> list[str]:
    return [
        f"{s['node_id']} ({s['type']}) {s['outcome']}{'/' + s['branch'] if s.get('branch') else ''} at "
        f"{s['at'].isoformat()}"
        for s in outcome.path
    ]


def _compare(expect: Mapping[str, Any], outcome) -> list[str]:
    failures = []
    if "path" in expect:
        expected, actual = [str(n) for n in expect["path"] or []], _entered(outcome)
        if expected != actual:
            diff = "\n".join(
                difflib.unified_diff(expected, actual, "expected path", "actual path", lineterm="")
            )
            failures.append(
                f"The path changed:\n{diff}\nSteps run:\n  " + "\n  ".join(_described_path(outcome))
            )
    if "actions" in expect:
        expected = [str(a) for a in expect["actions"] or []]
        actual = [f"{a['type']}@{a['node_id']}" for a in outcome.actions]
        if expected != actual:
            diff = "\n".join(
                difflib.unified_diff(expected, actual, "expected actions", "actual actions", lineterm="")
            )
            failures.append(f"The actions changed:\n{diff}")
    if "status" in expect and str(expect["status"]) != outcome.status:
        reason = f" ({outcome.reason})" if outcome.reason else ""
        failures.append(f"The final status is {outcome.status}{reason}, not {expect['status']}.")
    return failures


def journeys_junit(results: list[JourneyResult]) -> str:
    """Return JUnit XML: one test suite, a test case per journey (classname: its workflow)."""
    suite = ElementTree.Element(
        "testsuite",
        name="journeys",
        tests=str(len(results)),
        failures=str(sum(bool(r.failures) for r in results)),
        errors=str(sum(r.error is not None for r in results)),
    )
    for result in results:
        case = ElementTree.SubElement(
            suite, "testcase", name=result.name, classname=result.workflow or "journey", file=result.file
        )
        if result.error is not None:
            ElementTree.SubElement(case, "error", message=result.error.splitlines()[0]).text = result.error
        elif result.failures:
            ElementTree.SubElement(
                case, "failure", message=result.failures[0].splitlines()[0]
            ).text = "\n\n".join(result.failures)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def published_versions_by_name(*, workspace) -> dict[str, tuple[Graph, WorkflowSettings]]:
    """Return the graph and settings of each of the workspace's published workflows, by name."""
    from workflows.models import Workflow, WorkflowVersion

    found = {}
    for workflow in Workflow.objects.for_workspace(workspace).exclude(published_version=None):
        version = WorkflowVersion.objects.get(workflow=workflow, number=workflow.published_version)
        found[workflow.name] = (graphs.graph_of(version), graphs.parse_settings(version.settings))
    return found
