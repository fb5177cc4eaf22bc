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


def test_main_thread_cpu_is_summed_per_frame_between_the_drag_marks_on_the_busiest_renderer():
    def task(ts, tdur, tid=1):
        return {"ph": "X", "name": "RunTask", "pid": 9, "tid": tid, "ts": ts, "dur": tdur * 3, "tdur": tdur}

    def fire(ts, tid=1):
        return {"ph": "X", "name": "FireAnimationFrame", "pid": 9, "tid": tid, "ts": ts, "dur": 1}

    events = [
        {"ph": "M", "name": "thread_name", "pid": 9, "tid": tid, "args": {"name": "CrRendererMain"}} for tid in (1, 2)
    ] + [
        {"ph": "R", "name": "bench-drag-start", "pid": 9, "tid": 1, "ts": 1000},
        task(500, 7000),  # before the drag: left out
        task(1000, 2000), fire(1100), task(5000, 3000),  # frame 1: 2 ms + 3 ms of thread time
        task(17000, 4000), fire(17100),  # frame 2: its task fires the frame, then no other
        task(33000, 1000), fire(33100),  # where frame 2 ends
        fire(2000, tid=2),  # another, idler renderer
        {"ph": "R", "name": "bench-drag-end", "pid": 9, "tid": 1, "ts": 40000},
        task(41000, 9000),  # after the drag: left out
    ]
    assert builder.main_thread_cpu_per_frame(events) == [5.0, 4.0]


def test_builder_bench_prints_every_figure_at_a_tiny_size():
    out = io.StringIO()
    figures = builder.run(out=out, nodes=12, edges=14, db_name="penguinflow_bench_builder_smoke")
    printed = out.getvalue()
    for name in ("first_load_js_gzip_kb", "canvas_interactive_ms", "rendered_nodes", "drag_frame_ms",
                 "drag_main_cpu_ms", "tidy_up_ms"):
        assert f"builder.{name}" in printed, printed
    assert figures["nodes"] == 12 and figures["edges"] == 14
    assert 0 < figures["rendered_nodes"] <= 12
    assert figures["drag_frames"] > 0
    assert figures["drag_cpu_max_ms"] > 0  # the traces were read: the page did work while a step was dragged
