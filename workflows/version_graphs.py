"""The Django side of workflow graphs: a version's graph read from its rows, and API input checked as one.

The engine's graph model and its validation are plain Python (`workflows.engine.graph`, `.validation`); here
they meet the stored versions (Step/Connection rows) and the API, whose malformed input becomes a 4xx
(`InvalidInput`), and the validation report takes the API's shape.
"""

from __future__ import annotations

from typing import Any

from penguinflow.common.errors import InvalidInput
from workflows.engine.errors import EngineInputError
from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.graph_expressions import graph_expressions_compile
from workflows.engine.validation import split_issues, validate
from workflows.models import Workflow, WorkflowVersion


def _prefixed(details: dict[str, str], path: str) -> dict[str, str]:
    return {f"{path}.{key}" if key and key != "(root)" else path: value for key, value in details.items()}


def parse_graph(obj: Any, *, path: str = "graph") -> Graph:
    try:
        graph = Graph.from_builder(obj)
    except EngineInputError as error:
        raise InvalidInput("The graph is malformed.", details=_prefixed(error.details, path)) from error
    try:
        # Expressions in rules are compiled here, once, for every graph the API receives (CONTRACT §7a).
        return graph_expressions_compile(graph, path=path)
    except EngineInputError as error:
        raise InvalidInput(error.message, details=error.details) from error


def parse_settings(obj: Any) -> WorkflowSettings:
    if obj is not None and not isinstance(obj, dict):
        raise InvalidInput("The settings are malformed.", details={"settings": "Must be a JSON object."})
    try:
        return WorkflowSettings.parse(obj)
    except EngineInputError as error:
        raise InvalidInput("The settings are malformed.", details=error.details) from error


def settings_to_json(settings: WorkflowSettings) -> dict[str, Any]:
    return settings.as_dict()


def draft_of(workflow: Workflow) -> WorkflowVersion:
    return WorkflowVersion.objects.get(workflow=workflow, number__isnull=True)


def graph_of(version: WorkflowVersion) -> Graph:
    return Graph.from_rows(list(version.steps.all()), list(version.connections.all()))


def builder_graph_of(version: WorkflowVersion) -> dict[str, Any]:
    """Return the version's graph as the builder's JSON, with the canvas's notes beside nodes and edges.

    ``notes`` is left out when there are none, so that graphs without notes answer exactly as they always did.
    """
    graph = graph_of(version).to_builder()
    return {**graph, "notes": version.notes} if version.notes else graph


def validation_report(graph: Graph, settings: WorkflowSettings) -> dict[str, list[dict[str, Any]]]:
    return split_issues(validate(graph, settings))
