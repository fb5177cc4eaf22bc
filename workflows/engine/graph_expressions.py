"""Expressions in node configs (CONTRACT §7a): ``{"js": "..."}`` in a rule's place is stored as its JsonLogic.

Node configs are stored as they were sent, not as their parsed models, so the compiled rules must be written back
into the config. Where a node type keeps its rules is known only to its config model: the config is validated
once, the ``Rule`` type compiles each expression it meets (``types._compile_expression``) and records it by the
identity of its ``{"js": ...}`` object, and those objects are replaced in the config. The rest of the config is
left as it was, invalid parts included: a draft may hold them, and validation reports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from workflows.engine.graph import Graph, GraphFormatError, Node, freeze
from workflows.engine.registry import registry
from workflows.engine.types import EXPRESSIONS_COMPILED, expression_positions

__all__ = ["graph_expressions_compile"]


def graph_expressions_compile(graph: Graph, *, path: str = "graph") -> Graph:
    """Return ``graph`` with every expression in its nodes' rules compiled to JsonLogic.

    Raise ``GraphFormatError`` when one does not compile: ``details`` maps ``<path>.nodes[i].data.config.<field>``
    to the message, and ``details["expressions"]`` lists ``{path, node_id, line, column, message}``.
    """
    nodes: list[Node] = []
    details: dict[str, Any] = {}
    positions: list[dict[str, Any]] = []
    for index, node in enumerate(graph.nodes):
        node_type = registry.get(node.type)
        if node_type is None or not _holds_expression(node.config):
            nodes.append(node)
            continue
        config = node.config_dict()
        compiled: dict[int, tuple[Any, Any]] = {}
        try:
            node_type.Config.model_validate(config, context={EXPRESSIONS_COMPILED: compiled})
        except ValidationError as error:
            for position in expression_positions(error, prefix=f"{path}.nodes[{index}].data.config"):
                details[position["path"]] = position["message"]
                positions.append({**position, "node_id": node.id})
        nodes.append(replace(node, config=freeze(_substituted(config, compiled))) if compiled else node)
    if positions:
        raise GraphFormatError(
            "An expression in the graph does not compile.", details={**details, "expressions": positions}
        )
    return Graph(nodes=tuple(nodes), edges=graph.edges)


def _holds_expression(value: Any) -> bool:
    """Return whether a (frozen) config holds an object with a "js" key anywhere: only those need parsing."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, Mapping):
            if "js" in current:
                return True
            stack.extend(current.values())
        elif isinstance(current, (list, tuple)):
            stack.extend(current)
    return False


def _substituted(value: Any, compiled: dict[int, tuple[Any, Any]]) -> Any:
    found = compiled.get(id(value))
    if found is not None and found[0] is value:
        return found[1]
    if isinstance(value, dict):
        return {key: _substituted(item, compiled) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item, compiled) for item in value]
    return value
