import { describe, expect, it } from "vitest";
import type { SimulationResult, SimulationStep } from "../api/types";
import { flowEdge, type FlowNode } from "../canvas/graph";
import { describeVisit, statusText } from "./describe";
import { DIMMED_CLASS, highlightOf, markEdges, markNodes, TAKEN_CLASS, VISITED_CLASS, visitsOf } from "./highlight";

const step = (node_id: string, outcome: string, branch: string | null, at: string, detail: unknown = {}): SimulationStep => ({
  node_id, type: "x", at, outcome, branch, detail,
});

// The path the simulator answered for trigger → send email → wait for email.opened → condition (yes) → tag,
// with the email opened two hours in (see workflows/engine/simulator.py).
const path: SimulationStep[] = [
  step("t", "advance", "default", "2026-11-23T08:00:00+00:00", { trigger: "trigger_manual", event: null }),
  step("s", "advance", "default", "2026-11-23T08:00:00+00:00", { template_id: "tpl", status: "queued" }),
  step("w", "wait", null, "2026-11-23T08:00:00+00:00", { event: "email.opened", timeout_at: "2026-11-26T08:00:00+00:00" }),
  step("w", "advance", "event", "2026-11-23T10:00:00+00:00", { event: "email.opened", occurred_at: "2026-11-23T10:00:00+00:00" }),
  step("c", "advance", "yes", "2026-11-23T10:00:00+00:00", { value: true, result: true, seen: { "contact.tags": ["trial"] } }),
  step("yes", "advance", "default", "2026-11-23T10:00:00+00:00", { tag: "engaged" }),
];
const result: SimulationResult = {
  status: "completed", path, actions: [], entered_at: path[0]!.at, trigger_node: "t", reason: null, contact: {},
};
const edges = [
  flowEdge("e1", "t", "s", "default"),
  flowEdge("e2", "s", "w", "default"),
  flowEdge("e3", "w", "c", "event"),
  flowEdge("e4", "w", "late", "timeout"),
  flowEdge("e5", "c", "yes", "yes"),
  flowEdge("e6", "c", "no", "no"),
];
const node = (id: string): FlowNode => ({ id, type: "x", position: { x: 0, y: 0 }, data: { label: id, config: {} } });

describe("highlightOf", () => {
  it("numbers the visits, a wait and its waking being one visit", () => {
    const visits = visitsOf(path);
    expect(visits.map((visit) => [visit.number, visit.nodeId, visit.branch])).toEqual([
      [1, "t", "default"], [2, "s", "default"], [3, "w", "event"], [4, "c", "yes"], [5, "yes", "default"],
    ]);
    expect(visits[2]!.steps).toHaveLength(2);
    expect(visits[2]!.at).toBe("2026-11-23T08:00:00+00:00");
  });

  it("takes the edges left by the branch chosen, to the node visited next, and nothing else", () => {
    const highlight = highlightOf(result, edges);
    expect([...highlight.edgesTaken].sort()).toEqual(["e1", "e2", "e3", "e5"]);
  });

  it("marks visited nodes and taken edges, and dims the rest, without touching the canvas's own", () => {
    const highlight = highlightOf(result, edges);
    const nodes = ["t", "s", "w", "c", "yes", "no", "late"].map(node);
    const marked = markNodes(nodes, highlight);
    expect(marked.filter((n) => n.className === VISITED_CLASS).map((n) => n.id)).toEqual(["t", "s", "w", "c", "yes"]);
    expect(marked.filter((n) => n.className === DIMMED_CLASS).map((n) => n.id)).toEqual(["no", "late"]);
    expect(nodes[0]!.className).toBeUndefined();
    const markedEdges = markEdges(edges, highlight);
    expect(markedEdges.filter((e) => e.animated).map((e) => e.id)).toEqual(["e1", "e2", "e3", "e5"]);
    expect(markedEdges.find((e) => e.id === "e3")!.className).toBe(TAKEN_CLASS);
    expect(markedEdges.find((e) => e.id === "e6")!.className).toBe(DIMMED_CLASS);
    expect(markNodes(nodes, null)).toBe(nodes);
  });

  it("marks a node the run failed at, and leaves out triggers that did not start", () => {
    const failing: SimulationResult = {
      ...result,
      status: "failed",
      path: [
        step("t2", "not_entered", null, "2026-11-23T08:00:00+00:00", { reason: "filter" }),
        path[0]!,
        step("s", "fail", null, "2026-11-23T08:00:00+00:00", { reason: "Template gone" }),
      ],
    };
    const highlight = highlightOf(failing, edges);
    expect(highlight.visits.map((visit) => visit.nodeId)).toEqual(["t", "s"]);
    expect(markNodes([node("s")], highlight)[0]!.className).toContain("test-failed");
  });
});

describe("describeVisit", () => {
  it("says the wait, the event that woke it, and the decision with its value and rule", () => {
    const visits = visitsOf(path);
    const wait = describeVisit(visits[2]!).join(" ");
    expect(wait).toMatch(/^Waits for email\.opened 3 days, until .+\. email\.opened arrived at .+: took “event”\.$/);
    expect(describeVisit(visits[3]!, { rule: { in: ["trial", { var: "contact.tags" }] } })).toEqual([
      'The rule held (its value: true) for {"in":["trial",{"var":"contact.tags"}]}: took “yes”.',
      'It read: contact.tags was ["trial"].',
    ]);
    expect(describeVisit(visits[0]!)).toEqual(["Entered by hand (no trigger heard an event of the script)."]);
  });

  it("says switch cases, split variants, timeouts, delays and failures", () => {
    const one = (s: SimulationStep) => describeVisit({ number: 1, nodeId: s.node_id, steps: [s], at: s.at, branch: s.branch });
    expect(
      one(step("sw", "advance", "default", "2026-11-23T08:00:00Z", {
        case: null, checked: ["a", "b"], seen: { "contact.fields.plan": "free", "contact.score": null },
      })),
    ).toEqual([
      "No case matched (checked a, b): took “default”.",
      "It read: contact.fields.plan was “free”; contact.score was empty.",
    ]);
    expect(one(step("sw", "advance", "a", "2026-11-23T08:00:00Z", { case: "a", checked: ["a"] }))[0]).toContain("Case “a” matched");
    expect(one(step("sp", "advance", "b", "2026-11-23T08:00:00Z", { variant: "b", bucket: 0.55 }))[0]).toContain("Drew variant “b”");
    expect(one(step("w", "advance", "timeout", "2026-11-26T08:00:00Z", { timeout_at: "2026-11-26T08:00:00Z" }))[0]).toMatch(/^No awaited event by .+: took “timeout”\.$/);
    expect(one(step("d", "wait", null, "2026-11-23T08:00:00Z", { duration: "P1D", until: "2026-11-24T08:00:00Z" }))[0]).toMatch(/^Waits 1 day, until .+\.$/);
    expect(one({ ...step("s", "fail", null, "2026-11-23T08:00:00Z", {}), error: { message: "Template gone" } })).toEqual(["Failed: Template gone."]);
  });

  it("says the run's status with the server's reason", () => {
    expect(statusText("failed", "Template gone")).toBe("Failed: a step could not run. Template gone");
    expect(statusText("waiting", null)).toContain("Still waiting");
  });
});

describe("graphSignature", () => {
  it("changes with what the run depends on, not with where steps sit or which is selected", async () => {
    const { graphSignature } = await import("./highlight");
    const nodes = ["t", "s"].map(node);
    const before = graphSignature(nodes, edges);
    const moved = nodes.map((n) => ({ ...n, position: { x: 50, y: 80 }, selected: true }));
    expect(graphSignature(moved, edges)).toBe(before);
    const edited = [nodes[0]!, { ...nodes[1]!, data: { label: "s", config: { tag: "x" } } }];
    expect(graphSignature(edited, edges)).not.toBe(before);
    expect(graphSignature(nodes, edges.slice(1))).not.toBe(before);
  });
});
