"""The builder bench runs end to end at a tiny size (its figures are not judged here: a busy machine is slow)."""

from __future__ import annotations

import io

from bench import builder


def test_generated_graph_has_the_asked_size_one_trigger_and_one_edge_per_branch():
    graph = builder.generated_graph(60, 72)
    assert len(graph["nodes"]) == 60 and len(graph["edges"]) == 72
    assert [node["type"] for node in graph["nodes"]].count("trigger_manual") == 1
    exits = [(edge["source"], edge["sourceHandle"]) for edge in graph["edges"]]
    assert len(exits) == len(set(exits))
    order = {node["id"]: index for index, node in enumerate(graph["nodes"])}
    assert all(order[edge["source"]] < order[edge["target"]] for edge in graph["edges"])  # no cycle
    reached = {edge["target"] for edge in graph["edges"]}
    assert reached == {node["id"] for node in graph["nodes"][1:]}


def test_builder_bench_prints_every_figure_at_a_tiny_size():
    out = io.StringIO()
    figures = builder.run(out=out, nodes=12, edges=14, db_name="penguinflow_bench_builder_smoke")
    printed = out.getvalue()
    for name in ("first_load_js_gzip_kb", "canvas_interactive_ms", "rendered_nodes", "drag_frame_ms", "tidy_up_ms"):
        assert f"builder.{name}" in printed, printed
    assert figures["nodes"] == 12 and figures["edges"] == 14
    assert 0 < figures["rendered_nodes"] <= 12
    assert figures["drag_frames"] > 0
