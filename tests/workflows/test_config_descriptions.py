"""The builder shows the node types' JSON Schema descriptions as they are: they must read as plain words."""

from __future__ import annotations

from workflows.engine.registry import registry


def _strings(value, path: str):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def test_node_type_descriptions_carry_no_restructuredtext_markup():
    marked = [f"{path}: {text}" for node in registry.describe() for path, text in _strings(node, node["type"])
              if "``" in text or ":class:" in text or ":func:" in text]
    assert marked == []
