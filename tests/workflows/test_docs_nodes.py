"""docs/nodes.md is generated from the registry and the presets: a stale copy fails here."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from workflows.engine.registry import registry
from workflows.node_docs import render_nodes_md


def test_the_committed_node_reference_is_up_to_date():
    # On failure: run `python manage.py docs_nodes` and commit docs/nodes.md.
    call_command("docs_nodes", "--check")


def test_check_fails_on_a_stale_or_missing_file_and_writing_fixes_it(tmp_path):
    target = tmp_path / "nodes.md"
    with pytest.raises(CommandError, match="stale"):
        call_command("docs_nodes", "--check", "--path", str(target))
    target.write_text("# old\n", encoding="utf-8")
    with pytest.raises(CommandError, match="stale"):
        call_command("docs_nodes", "--check", "--path", str(target))
    call_command("docs_nodes", "--path", str(target))
    call_command("docs_nodes", "--check", "--path", str(target))


def test_the_reference_names_every_node_type_and_preset_and_is_deterministic():
    text = render_nodes_md(registry)
    assert text == render_nodes_md(registry)
    for node in registry:
        assert f"### `{node.type}`: {node.label}" in text
        for preset in getattr(node, "presets", ()):
            assert f"`{preset.id}`" in text
    assert "| `segment_id` | string | required |" in text
    assert "Branches: `yes`, `no`." in text
