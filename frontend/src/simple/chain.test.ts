import { describe, expect, it } from "vitest";
import type { NodeTypeInfo } from "../api/types";
import { flowEdge, type FlowEdge, type FlowNode } from "../canvas/graph";
import { noteNode } from "../canvas/notes";
import {
  canMove, chainOf, chainTypes, insertStep, moveStep, removeStep, slotAccepts, STEP_GAP_Y, stepShape, type Graph,
} from "./chain";

function info(type: string, kind: NodeTypeInfo["kind"], branches: NodeTypeInfo["branches"]): NodeTypeInfo {
  return { type, kind, label: type, description: "", config_schema: {}, branches };
}

const types = chainTypes(new Map([
  ["trigger_event", info("trigger_event", "trigger", ["default"])],
  ["send_email", info("send_email", "action", ["default"])],
  ["delay", info("delay", "wait", ["default"])],
  ["add_tag", info("add_tag", "action", ["default"])],
  ["condition", info("condition", "logic", ["yes", "no"])],
  ["switch", info("switch", "logic", "dynamic")],
  ["exit", info("exit", "logic", [])],
].map(([type, value]) => [type as string, value as NodeTypeInfo])));

function node(id: string, type: string, y = 0): FlowNode {
  return { id, type, position: { x: 40, y }, data: { label: id, config: {} } };
}

function edge(source: string, target: string, branch = "default"): FlowEdge {
  return flowEdge(`${source}-${target}`, source, target, branch);
}

/** trigger → email → delay → tag, deliberately listed out of order and placed anywhere. */
function chainOfFour(): Graph {
  return {
    nodes: [node("email", "send_email", 500), node("t", "trigger_event", 0), node("tag", "add_tag", 90), node("wait", "delay", 30)],
    edges: [edge("wait", "tag"), edge("t", "email"), edge("email", "wait")],
  };
}

function counter() {
  let count = 0;
  return (prefix: string) => `${prefix}${(count += 1)}`;
}

/** The graph's edges as `source>target` pairs, in a stable order. */
function links(graph: Graph): string[] {
  return graph.edges.map((item) => `${item.source}>${item.target}${item.sourceHandle === "default" ? "" : `:${item.sourceHandle}`}`).sort();
}

function listed(graph: Graph): string[] {
  const result = chainOf(graph, types);
  if (!result.ok) throw new Error(result.reason);
  return result.steps;
}

describe("reading a graph as a list", () => {
  it("reads an empty graph as an empty list", () => {
    expect(chainOf({ nodes: [], edges: [] }, types)).toEqual({ ok: true, steps: [] });
  });

  it("reads a lone trigger as a list of one", () => {
    expect(chainOf({ nodes: [node("t", "trigger_event")], edges: [] }, types)).toEqual({ ok: true, steps: ["t"] });
  });

  it("follows default edges from the trigger, whatever order the nodes are stored in", () => {
    expect(listed(chainOfFour())).toEqual(["t", "email", "wait", "tag"]);
  });

  it("starts a list without trigger at its one step without a step before it", () => {
    expect(listed({ nodes: [node("b", "delay"), node("a", "send_email")], edges: [edge("a", "b")] })).toEqual(["a", "b"]);
  });

  it("refuses a graph with a branching step, naming it", () => {
    const graph = chainOfFour();
    graph.nodes.push(node("check", "condition"));
    graph.edges.push(edge("tag", "check"));
    expect(chainOf(graph, types)).toEqual({ ok: false, reason: "“check” has branches, which only the graph can show." });
    const switched = { nodes: [node("t", "trigger_event"), node("s", "switch")], edges: [edge("t", "s")] };
    expect(chainOf(switched, types).ok).toBe(false);
  });

  it("refuses two triggers", () => {
    const graph = chainOfFour();
    graph.nodes.push(node("t2", "trigger_event"));
    graph.edges.push(edge("t2", "email"));
    expect(chainOf(graph, types)).toEqual({ ok: false, reason: "The workflow has 2 triggers; a list starts from one." });
  });

  it("refuses a cycle, with or without a trigger", () => {
    const looped = chainOfFour();
    looped.edges.push(edge("tag", "email"));
    const result = chainOf(looped, types);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/“email” is reached from 2 steps|loop/);
    const ring = { nodes: [node("a", "send_email"), node("b", "delay")], edges: [edge("a", "b"), edge("b", "a")] };
    expect(chainOf(ring, types)).toEqual({ ok: false, reason: "Every step has a step before it: the steps go round in a loop." });
  });

  it("refuses steps left out of the chain, and a step leading to two", () => {
    const loose = chainOfFour();
    loose.edges = loose.edges.filter((item) => item.source !== "wait");
    expect(chainOf(loose, types)).toEqual({ ok: false, reason: "“tag” is not connected to the other steps." });
    const forked = chainOfFour();
    forked.edges.push(edge("t", "tag"));
    expect(chainOf(forked, types).ok).toBe(false);
  });

  it("accepts a step that ends the workflow last, and refuses one with a step after it", () => {
    const ended = chainOfFour();
    ended.nodes.push(node("end", "exit"));
    ended.edges.push(edge("tag", "end"));
    expect(listed(ended)).toEqual(["t", "email", "wait", "tag", "end"]);
    ended.nodes.push(node("after", "add_tag"));
    ended.edges.push(edge("end", "after"));
    expect(chainOf(ended, types)).toEqual({ ok: false, reason: "“end” ends the workflow, yet a step follows it." });
  });

  it("tells the shapes of node types apart from their branches", () => {
    expect(stepShape({ branches: ["default"] })).toBe("linear");
    expect(stepShape({ branches: [] })).toBe("terminal");
    expect(stepShape({ branches: ["event", "timeout"] })).toBe("branching");
    expect(stepShape({ branches: "dynamic" })).toBe("branching");
    expect(stepShape({ branches: ["next"] })).toBe("branching");
  });
});

describe("editing the list as a graph", () => {
  it("inserts in the middle: the step before leads to the new one, which leads to the step after", () => {
    const graph = chainOfFour();
    const steps = listed(graph);
    const result = insertStep(graph, steps, 2, { type: "add_tag", label: "VIP", config: { tag: "vip" } }, "default", counter());
    expect(result.id).toBe("n1");
    expect(listed(result)).toEqual(["t", "email", "n1", "wait", "tag"]);
    expect(links(result)).toEqual(["email>n1", "n1>wait", "t>email", "wait>tag"]);
    // Connections that stay keep their ids, so nothing else in the graph is disturbed.
    expect(result.edges.find((item) => item.source === "t")?.id).toBe("t-email");
    expect(result.nodes.find((item) => item.id === "n1")?.data).toEqual({ label: "VIP", config: { tag: "vip" } });
  });

  it("inserts first, last, and into an empty graph", () => {
    const empty = insertStep({ nodes: [], edges: [] }, [], 0, { type: "trigger_event", label: "T", config: {} }, "default", counter());
    expect(listed(empty)).toEqual(["n1"]);
    const graph = chainOfFour();
    const last = insertStep(graph, listed(graph), 4, { type: "exit", label: "End", config: {} }, "default", counter());
    expect(listed(last)).toEqual(["t", "email", "wait", "tag", "n1"]);
    const untriggered = { nodes: [node("a", "send_email")], edges: [] };
    const first = insertStep(untriggered, ["a"], 0, { type: "trigger_event", label: "T", config: {} }, "default", counter());
    expect(listed(first)).toEqual(["n1", "a"]);
  });

  it("lays the list out top-down under its first step", () => {
    const graph = chainOfFour();
    const result = insertStep(graph, listed(graph), 1, { type: "delay", label: "Wait", config: {} }, "default", counter());
    const positions = listed(result).map((id) => result.nodes.find((item) => item.id === id)!.position);
    expect(positions).toEqual([0, 1, 2, 3, 4].map((index) => ({ x: 40, y: index * STEP_GAP_Y })));
  });

  it("inserts a branching step wired in by its first branch, which makes the graph no longer a list", () => {
    const graph = chainOfFour();
    const result = insertStep(graph, listed(graph), 2, { type: "condition", label: "Opened?", config: {} }, "yes", counter());
    expect(links(result)).toEqual(["email>n1", "n1>wait:yes", "t>email", "wait>tag"]);
    expect(chainOf(result, types).ok).toBe(false);
    const atEnd = insertStep(graph, listed(graph), 4, { type: "switch", label: "Plan", config: {} }, null, counter());
    expect(links(atEnd)).toEqual(["email>wait", "t>email", "tag>n1", "wait>tag"]);
  });

  it("moves a step up and down by rewiring", () => {
    const graph = chainOfFour();
    const steps = listed(graph);
    const up = moveStep(graph, steps, 2, 1, counter());
    expect(listed(up)).toEqual(["t", "wait", "email", "tag"]);
    expect(links(up)).toEqual(["email>tag", "t>wait", "wait>email"]);
    const down = moveStep(up, listed(up), 1, 2, counter());
    expect(listed(down)).toEqual(["t", "email", "wait", "tag"]);
    expect(down.nodes.find((item) => item.id === "tag")?.position).toEqual({ x: 40, y: 3 * STEP_GAP_Y });
    expect(moveStep(graph, steps, 3, 4)).toBe(graph);
  });

  it("removes a middle step and connects its neighbours", () => {
    const graph = chainOfFour();
    const result = removeStep(graph, listed(graph), 1, counter());
    expect(result.nodes.map((item) => item.id).sort()).toEqual(["t", "tag", "wait"]);
    expect(links(result)).toEqual(["t>wait", "wait>tag"]);
    expect(listed(result)).toEqual(["t", "wait", "tag"]);
    const last = removeStep(result, listed(result), 2, counter());
    expect(links(last)).toEqual(["t>wait"]);
  });

  it("keeps a trigger first and an end last", () => {
    const graph = chainOfFour();
    graph.nodes.push(node("end", "exit"));
    graph.edges.push(edge("tag", "end"));
    const steps = listed(graph);
    expect(canMove(graph.nodes, steps, 1, 0, types)).toBe(false);
    expect(canMove(graph.nodes, steps, 0, 1, types)).toBe(false);
    expect(canMove(graph.nodes, steps, 1, 2, types)).toBe(true);
    expect(canMove(graph.nodes, steps, 3, 4, types)).toBe(false);
    expect(slotAccepts(graph.nodes, steps, 0, types)).toEqual({ triggers: false, steps: false, ends: false });
    expect(slotAccepts(graph.nodes, steps, 2, types)).toEqual({ triggers: false, steps: true, ends: false });
    expect(slotAccepts(graph.nodes, steps, 5, types)).toEqual({ triggers: false, steps: false, ends: false });
    expect(slotAccepts([], [], 0, types)).toEqual({ triggers: true, steps: false, ends: false });
    expect(slotAccepts(graph.nodes, steps.slice(0, 4), 4, types)).toEqual({ triggers: false, steps: true, ends: true });
  });
});

describe("sticky notes in the list", () => {
  const withNotes = (): Graph => {
    const graph = chainOfFour();
    graph.nodes.push(noteNode({ id: "note_1", text: "Ask legal first", position: { x: 400, y: 0 }, width: 220, height: 140 }));
    graph.nodes.unshift(noteNode({ id: "note_2", text: "", position: { x: -300, y: 80 }, width: 300, height: 90 }));
    return graph;
  };

  it("reads a graph with notes as the list of its steps alone", () => {
    expect(listed(withNotes())).toEqual(["t", "email", "wait", "tag"]);
    expect(chainOf({ nodes: [noteNode({ id: "note_1", text: "x", position: { x: 0, y: 0 }, width: 220, height: 140 })], edges: [] }, types))
      .toEqual({ ok: true, steps: [] });
  });

  it("keeps every note, where it was, through inserting, moving and removing steps", () => {
    const graph = withNotes();
    const notesOf = (edited: Graph) => edited.nodes.filter((item) => item.id.startsWith("note_"));
    const before = notesOf(graph);
    const inserted = insertStep(graph, listed(graph), 2, { type: "add_tag", label: "Tag", config: {} }, "default", counter());
    const moved = moveStep(inserted, listed(inserted), 2, 1, counter());
    const removed = removeStep(moved, listed(moved), 3, counter());
    for (const edited of [inserted, moved, removed]) expect(notesOf(edited)).toEqual(before);
    expect(listed(removed)).toHaveLength(4);
  });
});
