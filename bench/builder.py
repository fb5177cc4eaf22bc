"""Benchmark of the visual builder (the SPA at /builder/) in a real headless Chromium (/usr/bin/chromium, driven by
Playwright) against a live uvicorn serving production settings and the built front end (`make frontend` first).

Figures (one per line; nothing is asserted; each says its target and whether it is met):

1. `builder.first_load_js_gzip_kb`: the JavaScript the browser requests to open /builder/ (the workflows list)
   with an empty cache, up to the list showing and the network going idle, before any canvas route: the sum of
   each requested script's body gzipped (level 9, as the build's report does). Target <= 350 KB.
2. `builder.canvas_interactive_ms`: a generated workflow of N nodes and M edges (500 and 600; `--quick`: 40
   and 48) opened by navigating straight to its canvas URL in a fresh tab with an empty HTTP cache (logged in).
   "Fully interactive" is the first moment, measured with `performance.now()` in the page (0 = the navigation's
   start), when all of this holds: (a) the canvas says its view is settled (`.canvas-flow[data-view-ready=true]`);
   (b) every node React Flow has put in the DOM is measured and shown (no `visibility: hidden`), and there is at
   least one; (c) a real mouse click at the centre of the node nearest the view's centre has selected it (its
   element has the class `selected`). Both checks are polled once per animation frame, so the figure is late by
   at most a frame plus the click's round trip. `builder.canvas_view_ready_ms` is (a)+(b) alone. Target < 1500 ms.
3. `builder.rendered_nodes`: `.react-flow__node` elements in the DOM at that moment, against N: only the nodes in
   view (and React Flow's margin) are rendered. `builder.canvas_requests`: when each API request of the canvas's
   opening started and ended (ms since the navigation), once the network is idle: the ones the editor shows once
   open (suggestions, versions, template origin, the draft's findings) should leave with the first ones.
4. `builder.drag_frame_ms`: a node dragged across the canvas with the real mouse (120 moves over 600 px, its
   far end near the canvas's right border, where React Flow pans the view as the node goes); the page records
   `requestAnimationFrame` deltas from the press to the release; p50 / p95 / max. Target p95 < 20 ms. Done
   BENCH_BUILDER_DRAG_RUNS times (default 3), each drag after the last one's autosave; each run said, then all.
   `builder.drag_main_cpu_ms`: the same drags in a Chromium trace: the renderer main thread's CPU time (thread
   time of its top-level tasks) per frame, a frame running from the task that fires one animation frame to the
   next: what the page's own work costs per frame, apart from how busy the (shared) machine was.
   BENCH_BUILDER_TRACE_DIR=<folder> keeps each drag's trace (drag-<run>.json) for a look in DevTools.
5. `builder.tidy_up_ms`: from the click on "Tidy up" to the first animation frame in which the nodes drawn stand
   elsewhere (their `transform`s changed), measured in the page (polled once per frame); it includes
   loading the layout code the first time and the dagre layout of the whole graph. Target < 500 ms.

The bench (re)creates the database `penguinflow_bench_builder`, collects the static files (the production
server serves them from STATIC_ROOT) and uses Redis database BENCH_REDIS_DB (default 12); BENCH_BUILDER_DB names
another database (several people benching on one server).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from bisect import bisect_right
from pathlib import Path
from typing import Any, TextIO

from bench._support import bench_env, drop_database, pg_params, python_speed_ms, recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_BUILDER_DB", "penguinflow_bench_builder")
CHROMIUM = Path("/usr/bin/chromium")
USER, PASSWORD = "bench", "bench-password"
TIMEOUT_MS = int(os.environ.get("BENCH_BROWSER_TIMEOUT_MS", "120000"))
TARGETS = {"first_load_kb": 350, "interactive_ms": 1500, "drag_p95_ms": 20, "tidy_up_ms": 500}
DRAG_RUNS = int(os.environ.get("BENCH_BUILDER_DRAG_RUNS", "3"))
# What the trace records: the main thread's tasks and frames, and the page's marks around each drag.
TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline",
                    "disabled-by-default-devtools.timeline.frame", "blink.user_timing"]


# --- the generated workflow -------------------------------------------------------------------------------------------


def generated_graph(node_count: int, edge_count: int, *, seed: int = 7) -> dict[str, Any]:
    """Return a React Flow graph of `node_count` nodes and `edge_count` edges (CONTRACT §5's shape): one manual
    trigger, then conditions (two branches) and tags; every node reached from the trigger, no cycle, at most one
    edge per branch (as the builder allows), laid out in a grid wider than any screen."""
    rng = random.Random(seed)
    nodes, free = [], []  # free: (node index, branch) not yet leading anywhere, in order of creation
    for index in range(node_count):
        if index == 0:
            kind, config, branches = "trigger_manual", {}, ["default"]
        elif index % 5 in (0, 2):
            kind, config, branches = "condition", {"rule": {">=": [{"var": "contact.score"}, index % 50]}}, ["yes", "no"]
        else:
            kind, config, branches = "add_tag", {"tag": f"tag-{index % 37}"}, ["default"]
        nodes.append({"id": f"n{index}", "type": kind, "position": {"x": (index % 25) * 260, "y": (index // 25) * 160},
                      "data": {"label": f"Step {index}", "config": config}})
        free += [(index, branch) for branch in branches]
    edges: list[dict[str, Any]] = []
    taken: set[tuple[int, str]] = set()

    def link(source: int, branch: str, target: int) -> None:
        taken.add((source, branch))
        edges.append({"id": f"e{len(edges)}", "source": f"n{source}", "target": f"n{target}", "sourceHandle": branch})

    # A tree first (each node's parent an earlier node's free branch), then extra edges forward (merges).
    for target in range(1, node_count):
        choices = [slot for slot in free if slot[0] < target and slot not in taken][:8]
        if not choices:
            break
        link(*rng.choice(choices), target)
    spare = [slot for slot in free if slot not in taken and slot[0] < node_count - 1]
    rng.shuffle(spare)
    for source, branch in spare:
        if len(edges) >= edge_count:
            break
        link(source, branch, rng.randrange(source + 1, node_count))
    return {"nodes": nodes, "edges": edges[:edge_count]}


def child_prepare(node_count: int, edge_count: int) -> None:
    """Create the workspace, a user of it who logs in with a password, and the generated workflow."""
    from django.contrib.auth import get_user_model

    from penguinflow.workspaces.models import Membership
    from penguinflow.workspaces.services import workspace_get_or_create
    from workflows.services import workflow_create

    workspace, _ = workspace_get_or_create(slug="bench", name="Bench")
    user = get_user_model().objects.create_user(username=USER, password=PASSWORD)
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.ADMIN)
    graph = generated_graph(node_count, edge_count)
    workflow = workflow_create(workspace=workspace, name=f"Bench {node_count} nodes", graph=graph)
    print(json.dumps({"workflow": str(workflow.pk), "nodes": len(graph["nodes"]), "edges": len(graph["edges"])}))


# --- the live server ------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "penguinflow.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        env=env, cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                raise RuntimeError("the web server did not start") from None
            time.sleep(0.2)


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "bench.builder", *args], env=env, cwd=ROOT, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- in the page ----------------------------------------------------------------------------------------------------

# Resolves with performance.now() at the first animation frame where the canvas is settled and its nodes shown.
VIEW_READY_JS = """() => {
  if (!document.querySelector('.canvas-flow[data-view-ready="true"]')) return false;
  const nodes = [...document.querySelectorAll('.react-flow__node')];
  if (nodes.length === 0 || nodes.some((node) => getComputedStyle(node).visibility === 'hidden')) return false;
  return performance.now();
}"""

# The centre (in page pixels) of the rendered node nearest the centre of the canvas, and its id.
NODE_NEAR_CENTRE_JS = """() => {
  const pane = document.querySelector('.canvas-flow').getBoundingClientRect();
  const cx = pane.left + pane.width / 2, cy = pane.top + pane.height / 2;
  let best = null;
  for (const node of document.querySelectorAll('.react-flow__node')) {
    const box = node.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const inside = x > pane.left && x < pane.right && y > pane.top && y < pane.bottom;
    const distance = Math.hypot(x - cx, y - cy);
    if (inside && (best === null || distance < best.distance)) best = {id: node.dataset.id, x, y, distance};
  }
  return best;
}"""

SELECTED_JS = """(id) => {
  const node = document.querySelector(`.react-flow__node[data-id="${CSS.escape(id)}"]`);
  return node !== null && node.classList.contains('selected') && performance.now();
}"""

FRAMES_START_JS = """() => {
  performance.mark('bench-drag-start');
  window.__frames = [];
  let last = performance.now();
  window.__framesOn = true;
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (window.__framesOn) requestAnimationFrame(tick);
  };
  requestAnimationFrame((now) => { last = now; requestAnimationFrame(tick); });
}"""

FRAMES_STOP_JS = "() => { window.__framesOn = false; performance.mark('bench-drag-end'); return window.__frames; }"

# The centre of a node's element (page pixels), once it has stood still for 10 frames (the view is not panning).
NODE_AT_REST_JS = """(id) => {
  const node = document.querySelector(`.react-flow__node[data-id="${CSS.escape(id)}"]`);
  if (node === null) return {id, gone: true};  // panned out of view: the canvas draws only the steps in view
  const box = node.getBoundingClientRect();
  const at = `${box.left},${box.top}`;
  window.__rest = window.__rest && window.__rest.at === at ? {at, frames: window.__rest.frames + 1} : {at, frames: 0};
  return window.__rest.frames >= 10 && {id, x: box.left + box.width / 2, y: box.top + box.height / 2};
}"""

# The view has not moved for 10 frames (fitting it in animates).
VIEW_AT_REST_JS = """() => {
  const at = document.querySelector('.react-flow__viewport').style.transform;
  window.__view = window.__view && window.__view.at === at ? {at, frames: window.__view.frames + 1} : {at, frames: 0};
  return window.__view.frames >= 10;
}"""

# "Tidy up" clicked, then polled once per frame until the nodes drawn have moved (their transforms change).
TIDY_UP_CLICK_JS = """() => {
  const button = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Tidy up');
  window.__tidyBefore = [...document.querySelectorAll('.react-flow__node')].map((n) => n.style.transform).join('|');
  window.__tidyStart = performance.now();
  button.click();
}"""

TIDY_UP_DONE_JS = """() => {
  const now = [...document.querySelectorAll('.react-flow__node')].map((n) => n.style.transform).join('|');
  return now !== window.__tidyBefore && performance.now() - window.__tidyStart;
}"""


# When each script and API answer ended, in the page's clock: where the time to a usable canvas goes.
LOAD_PHASES_JS = """() => performance.getEntriesByType('resource')
  .filter((entry) => entry.initiatorType === 'script' || entry.name.includes('/api/v1/'))
  .map((entry) => [entry.name.replace(location.origin, '').split('?')[0], Math.round(entry.startTime),
                   Math.round(entry.responseEnd)])"""


def _load_phases(page, *, api_only: bool = False) -> str:
    """Say when each script and API answer of the canvas's load started and ended (ms since the navigation)."""
    phases = [phase for phase in page.evaluate(LOAD_PHASES_JS) if not api_only or "/api/v1/" in phase[0]]
    workflow = re.compile(r"/api/v1/workflows/[0-9a-f-]{36}")
    return ", ".join(f"{workflow.sub('/api/v1/workflows/<id>', name).rsplit('/static/builder/assets/', 1)[-1]} "
                     f"{start}-{end}" for name, start, end in phases)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def _gzip_kb(body: bytes) -> float:
    return len(gzip.compress(body, compresslevel=9)) / 1024


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/builder/login")
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Workflows").wait_for()


def measure(base: str, workflow_id: str, node_count: int, say) -> dict[str, Any]:
    """Drive Chromium through the figures above against the server at `base`; say each, return them all."""
    from playwright.sync_api import sync_playwright

    figures: dict[str, Any] = {}
    with sync_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            # Bodies are read afterwards: a blocking call inside an event handler would wait on itself.
            responses: list[Any] = []
            page.on("response", lambda r: responses.append(r) if r.request.resource_type == "script" else None)
            _log_in(page, base)
            page.wait_for_load_state("networkidle")
            scripts = [(r.url, r.body()) for r in responses]
            first_load = sum(_gzip_kb(body) for _, body in scripts)
            figures["first_load_js_gzip_kb"] = first_load
            say("builder.first_load_js_gzip_kb", f"{first_load:.1f}  ({len(scripts)} scripts: "
                f"{', '.join(url.rsplit('/', 1)[-1] for url, _ in scripts)}; target <= {TARGETS['first_load_kb']} "
                f"KB: {_verdict(first_load <= TARGETS['first_load_kb'])})")
            figures.update(_canvas_figures(browser, context, base, workflow_id, node_count, say))
        finally:
            browser.close()
    return figures


def _canvas_figures(browser, logged_in, base: str, workflow_id: str, node_count: int, say) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    # A fresh tab with the session but an empty HTTP cache: the canvas's code is fetched, as on a first visit.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, storage_state=logged_in.storage_state())
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r) if r.request.resource_type == "script" else None)
    page.goto(f"{base}/builder/workflows/{workflow_id}", wait_until="commit")
    view_ready = page.wait_for_function(VIEW_READY_JS, polling="raf").json_value()
    target = page.evaluate(NODE_NEAR_CENTRE_JS)
    if target is None:
        raise RuntimeError("no node is in view on the opened canvas")
    page.mouse.click(target["x"], target["y"])
    interactive = page.wait_for_function(SELECTED_JS, arg=target["id"], polling="raf").json_value()
    rendered = page.locator(".react-flow__node").count()
    figures.update(canvas_view_ready_ms=view_ready, canvas_interactive_ms=interactive, rendered_nodes=rendered)
    say("builder.canvas_js_gzip_kb", f"{sum(_gzip_kb(r.body()) for r in responses):.1f}  (every script the "
        "canvas URL loads with an empty cache)")
    say("builder.canvas_view_ready_ms", f"{view_ready:.0f}  (of which, in the page's clock: {_load_phases(page)})")
    say("builder.canvas_interactive_ms", f"{interactive:.0f}  (target < {TARGETS['interactive_ms']} ms: "
        f"{_verdict(interactive < TARGETS['interactive_ms'])})")
    say("builder.rendered_nodes", f"{rendered} of {node_count}  (only visible elements: "
        f"{_verdict(rendered < node_count)})")
    # Every request of the canvas's opening, the later ones (suggestions, versions, findings...) included.
    page.wait_for_load_state("networkidle")
    say("builder.canvas_requests", f"{_load_phases(page, api_only=True)}  (start-end, ms since the navigation)")

    figures.update(_drag_figures(browser, page, target, say))

    page.evaluate(TIDY_UP_CLICK_JS)
    tidy = page.wait_for_function(TIDY_UP_DONE_JS, polling="raf").json_value()
    figures["tidy_up_ms"] = tidy
    say("builder.tidy_up_ms", f"{tidy:.0f}  (target < {TARGETS['tidy_up_ms']} ms: "
        f"{_verdict(tidy < TARGETS['tidy_up_ms'])})")
    context.close()
    return figures


def _fit_view(page) -> None:
    page.locator(".react-flow__controls-fitview").click()
    page.wait_for_function(VIEW_AT_REST_JS, polling="raf")


def _select_near_centre(page) -> dict[str, Any]:
    """Click the step nearest the centre of the view and wait until it is selected; return where it was."""
    target = page.evaluate(NODE_NEAR_CENTRE_JS)
    if target is None:
        # A small graph can leave the view altogether with a drag's pan: fit it in again.
        _fit_view(page)
        target = page.wait_for_function(NODE_NEAR_CENTRE_JS, polling="raf").json_value()
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function(SELECTED_JS, arg=target["id"], polling="raf")
    return target


def _at_rest(page, target: dict[str, Any], tries: int = 5) -> dict[str, Any]:
    """Where the selected step stands once the view has settled. Selecting a step may pan the view clear of the
    panel, and on a busy machine far enough that the step leaves the view (and the DOM): then the view is fitted
    again and the step nearest its centre selected instead."""
    for _ in range(tries):
        settled = page.wait_for_function(NODE_AT_REST_JS, arg=target["id"], polling="raf").json_value()
        if not settled.get("gone"):
            return settled
        _fit_view(page)
        target = _select_near_centre(page)
    raise RuntimeError(f"no selected step stayed in view in {tries} tries")


def _drag_figures(browser, page, target: dict[str, Any], say) -> dict[str, Any]:
    """Drag the node DRAG_RUNS times, traced; say each run's frame times and main-thread CPU, then all runs'."""
    all_frames: list[float] = []
    all_cpu: list[float] = []
    for run in range(1, DRAG_RUNS + 1):
        if run > 1:
            # The last drag may have panned its node out of view: each drag takes the selected node nearest the
            # centre, as the first did.
            target = _select_near_centre(page)
        # The last drag's autosave (and the validation it brings back) is done: each drag starts from rest.
        page.get_by_role("status").filter(has_text="All changes saved").first.wait_for()
        target = _at_rest(page, target)
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        try:
            frames = _drag(page, target, say)
        finally:
            raw = browser.stop_tracing()
        if os.environ.get("BENCH_BUILDER_TRACE_DIR"):
            # Kept for a look in the browser's performance panel (chrome://tracing or DevTools: Load profile).
            Path(os.environ["BENCH_BUILDER_TRACE_DIR"], f"drag-{run}.json").write_bytes(raw)
        trace = json.loads(raw)
        cpu = main_thread_cpu_per_frame(trace.get("traceEvents", trace) if isinstance(trace, dict) else trace)
        all_frames += frames
        all_cpu += cpu
        say(f"builder.drag_run_{run}", f"frames p50 {_percentile(frames, 0.5):.1f}  p95 {_percentile(frames, 0.95):.1f}"
            f"  max {max(frames, default=0.0):.1f} ms ({len(frames)});  main-thread CPU per frame p50 "
            f"{_percentile(cpu, 0.5):.1f}  p95 {_percentile(cpu, 0.95):.1f}  max {max(cpu, default=0.0):.1f} ms "
            f"({len(cpu)})")
    figures = dict(drag_runs=DRAG_RUNS, drag_frames=len(all_frames), drag_p50_ms=_percentile(all_frames, 0.5),
                   drag_p95_ms=_percentile(all_frames, 0.95), drag_max_ms=max(all_frames, default=0.0),
                   drag_cpu_p50_ms=_percentile(all_cpu, 0.5), drag_cpu_p95_ms=_percentile(all_cpu, 0.95),
                   drag_cpu_max_ms=max(all_cpu, default=0.0))
    target_ms = TARGETS["drag_p95_ms"]
    say("builder.drag_frame_ms", f"p50 {figures['drag_p50_ms']:.1f}  p95 {figures['drag_p95_ms']:.1f}  "
        f"max {figures['drag_max_ms']:.1f}  ({len(all_frames)} frames in {DRAG_RUNS} drags; target p95 < "
        f"{target_ms} ms: {_verdict(figures['drag_p95_ms'] < target_ms)})")
    say("builder.drag_main_cpu_ms", f"p50 {figures['drag_cpu_p50_ms']:.1f}  p95 {figures['drag_cpu_p95_ms']:.1f}  "
        f"max {figures['drag_cpu_max_ms']:.1f}  ({len(all_cpu)} frames; per frame, renderer main thread; "
        f"p95 < {target_ms} ms: {_verdict(figures['drag_cpu_p95_ms'] < target_ms)})")
    return figures


def main_thread_cpu_per_frame(events: list[dict[str, Any]]) -> list[float]:
    """Answer the renderer main thread's CPU time (ms) in each frame between the page's two drag marks.

    The main thread is the renderer's (`CrRendererMain`) that fired the most animation frames (the drag's page;
    the other tab is idle). A frame starts with the top-level task that fires its animation frame callbacks and
    ends where the next one starts; its CPU is the thread time (`tdur`, else the wall `dur`) of the top-level
    tasks (`RunTask`) that start in it: input, React, style, layout, paint, and the garbage collected on the way.
    """
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    fired: dict[tuple[int, int], list[float]] = {}
    for event in events:
        if event.get("name") == "FireAnimationFrame" and (event.get("pid"), event.get("tid")) in mains:
            fired.setdefault((event["pid"], event["tid"]), []).append(event["ts"])
    if not fired:
        return []
    main = max(fired, key=lambda thread: len(fired[thread]))
    marks = {e["name"]: e["ts"] for e in events if e.get("name") in ("bench-drag-start", "bench-drag-end")}
    start, end = marks.get("bench-drag-start", float("-inf")), marks.get("bench-drag-end", float("inf"))
    tasks = sorted((e["ts"], e.get("tdur", e.get("dur", 0))) for e in events
                   if e.get("name") == "RunTask" and e.get("ph") == "X" and (e["pid"], e["tid"]) == main
                   and start <= e["ts"] <= end)
    # The task that holds each animation frame's callbacks is where that frame starts.
    starts = sorted({max((ts for ts, _ in tasks if ts <= fire), default=fire) for fire in fired[main]
                     if start <= fire <= end})
    per_frame = [0.0] * max(len(starts) - 1, 0)
    for ts, spent in tasks:
        index = _frame_index(starts, ts)
        if 0 <= index < len(per_frame):
            per_frame[index] += spent / 1000
    return per_frame


def _frame_index(starts: list[float], ts: float) -> int:
    return bisect_right(starts, ts) - 1


def _drag(page, target: dict[str, Any], say=None) -> list[float]:
    """Drag the node at `target` 600 px across the canvas with 120 mouse moves; answer the frame deltas (ms).

    With BENCH_BUILDER_PROFILE=1, the page's JavaScript is profiled (CDP) during the drag and the functions that
    took the most time of their own are said: where to look when the frames are slow.
    """
    profiler = page.context.new_cdp_session(page) if os.environ.get("BENCH_BUILDER_PROFILE") == "1" else None
    if profiler is not None:
        profiler.send("Profiler.enable")
        profiler.send("Profiler.setSamplingInterval", {"interval": 200})
        profiler.send("Profiler.start")
    page.mouse.move(target["x"], target["y"])
    page.evaluate(FRAMES_START_JS)
    page.mouse.down()
    page.mouse.move(target["x"] - 300, target["y"] + 40, steps=60)
    page.mouse.move(target["x"] + 300, target["y"] - 40, steps=60)
    page.mouse.up()
    frames = page.evaluate(FRAMES_STOP_JS)
    if profiler is not None and say is not None:
        _say_profile(profiler.send("Profiler.stop")["profile"], say)
    # The first frame may straddle the evaluate round trip; the rest are the drag's.
    return frames[1:]


def _say_profile(profile: dict[str, Any], say) -> None:
    """Say the 12 functions with the most self time in a CDP CPU profile."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    self_ms: dict[str, float] = {}
    for sample, delta in zip(profile.get("samples", []), deltas, strict=False):
        frame = nodes[sample]["callFrame"]
        name = f"{frame['functionName'] or '(anonymous)'} {frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber']}"
        self_ms[name] = self_ms.get(name, 0.0) + delta / 1000
    for name, spent in sorted(self_ms.items(), key=lambda item: -item[1])[:12]:
        say("builder.drag_profile", f"{spent:7.1f} ms  {name}")


def run(*, out: TextIO, quick: bool = False, nodes: int | None = None, edges: int | None = None,
        db_name: str = DB_NAME) -> dict[str, Any]:
    """Print the figures above; `nodes`, `edges` and `db_name` let a test run it small, beside a real run."""
    node_count = nodes or (40 if quick else 500)
    edge_count = edges or (48 if quick else 600)
    redis_db = int(os.environ.get("BENCH_REDIS_DB", "12"))
    params = pg_params()
    env = bench_env(params, db_name=db_name, redis_db=redis_db)
    # Plain HTTP on 127.0.0.1: no redirect to HTTPS (the cookies stay Secure; Chromium keeps them on 127.0.0.1).
    env["SECURE_SSL_REDIRECT"] = "0"

    def say(name: str, value: Any) -> None:
        out.write(f"{name}  {value}\n")
        out.flush()

    if not CHROMIUM.exists():
        raise RuntimeError(f"Chromium is not installed at {CHROMIUM}")
    if not (ROOT / "static" / "builder" / "index.html").exists():
        raise RuntimeError("The builder is not built: run `make frontend` first.")
    recreate_migrated(params, db_name, env)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    prepared = _child(env, "prepare", str(node_count), str(edge_count))
    say("database", f"{db_name} (recreated), cpus {os.cpu_count()}, "
        f"python_speed_ms {python_speed_ms():.0f} (fixed pure-Python work; lower is a faster machine)")
    say("builder.workflow", f"{prepared['nodes']} nodes, {prepared['edges']} edges")
    port = _free_port()
    server = _start_server(env, port)
    try:
        figures = measure(f"http://127.0.0.1:{port}", prepared["workflow"], prepared["nodes"], say)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    drop_database(params, db_name)
    return {**figures, **prepared}


_CHILDREN = {"prepare": lambda a: child_prepare(int(a[0]), int(a[1]))}

if __name__ == "__main__":
    import django

    django.setup()
    _CHILDREN[sys.argv[1]](sys.argv[2:])
