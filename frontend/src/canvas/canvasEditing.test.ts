import { describe, expect, it } from "vitest";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { branchesOf, fromGraphJson, toGraphJson } from "./graph";
import { createGraphStore } from "./graphStore";
import { exitBranchOf, insertStepOnEdge } from "./insertOnEdge";
import { namedMessage, nodeName } from "./issueNames";
import { isNote } from "./notes";

function info(type: string, branches: NodeTypeInfo["branches"], extra: Partial<NodeTypeInfo> = {}): NodeTypeInfo {
  return { type, kind: "logic", label: type, description: "", config_schema: {}, branches, ...extra };
}

const SWITCH = info("switch", "dynamic", {
  label: "Switch",
  branch_source: { items: "cases", id: "id", label: "label", always: ["default"] },
});
const SPLIT = info("split", "dynamic", { branch_source: { items: "variants", id: "id", label: "label", always: [] } });
const CONDITION = info("condition", ["yes", "no"]);
const EMAIL = info("send_email", ["default"], { kind: "action", label: "Send email" });
const EXIT = info("exit", []);
const TYPES = new Map([SWITCH, SPLIT, CONDITION, EMAIL, EXIT].map((type) => [type.type, type]));

describe("dynamic branches from the server's branch_source", () => {
  it("gives a switch its cases, labelled, then its default branch", () => {
    const config = { cases: [{ id: "pro", label: "Pro", rule: {} }, { id: "free", rule: {} }], other: [{ id: "x" }] };
    expect(branchesOf(SWITCH, config)).toEqual([
      { id: "pro", label: "Pro" },
      { id: "free", label: "free" },
      { id: "default", label: "default" },
    ]);
    expect(branchesOf(SWITCH, {})).toEqual([{ id: "default", label: "default" }]);
  });

  it("gives a split only its variants, read from the list branch_source names", () => {
    const config = { variants: [{ id: "a", label: "A", weight: 1 }, { weight: 1 }], cases: [{ id: "no" }] };
    expect(branchesOf(SPLIT, config)).toEqual([{ id: "a", label: "A" }]);
  });

  it("picks the branch an inserted step continues by: default, else the first, else none", () => {
    expect(exitBranchOf(EMAIL, {})).toBe("default");
    expect(exitBranchOf(CONDITION, {})).toBe("yes");
    expect(exitBranchOf(SWITCH, { cases: [{ id: "pro" }] })).toBe("default");
    expect(exitBranchOf(SPLIT, { variants: [{ id: "a" }, { id: "b" }] })).toBe("a");
    expect(exitBranchOf(EXIT, {})).toBeNull();
  });
});

function storeWithBranch() {
  const graph: GraphJson = {
    nodes: [
      { id: "c", type: "condition", position: { x: 0, y: 0 }, data: { label: "Pro?", config: {} } },
      { id: "t", type: "send_email", position: { x: 0, y: 400 }, data: { label: "Welcome", config: {} } },
    ],
    edges: [{ id: "e1", source: "c", target: "t", sourceHandle: "no" }],
  };
  return createGraphStore(fromGraphJson(graph));
}

describe("inserting a step on an edge", () => {
  it("puts the step between source and target on the edge's branch, leaving by its own, as one undo step", () => {
    const store = storeWithBranch();
    const before = store.temporal.getState().pastStates.length;
    const id = insertStepOnEdge(store, TYPES, "e1", { type: "switch", label: "Plan", config: { cases: [{ id: "pro" }] } });
    expect(id).not.toBeNull();
    const { nodes, edges } = store.getState();
    expect(edges.map(({ source, target, sourceHandle }) => [source, target, sourceHandle])).toEqual([
      ["c", id, "no"],
      [id, "t", "default"],
    ]);
    const inserted = nodes.find((node) => node.id === id)!;
    expect(inserted.selected).toBe(true);
    expect(inserted.position.y).toBeGreaterThan(0);
    expect(inserted.position.y).toBeLessThan(400);
    expect(store.temporal.getState().pastStates.length).toBe(before + 1);

    store.temporal.getState().undo();
    expect(store.getState().nodes.map((node) => node.id)).toEqual(["c", "t"]);
    expect(store.getState().edges.map((edge) => edge.id)).toEqual(["e1"]);
    store.temporal.getState().redo();
    expect(store.getState().edges).toHaveLength(2);
  });

  it("makes room by moving the target and what follows it down, not the source", () => {
    const graph: GraphJson = {
      nodes: [
        { id: "a", type: "send_email", position: { x: 0, y: 0 } },
        { id: "b", type: "send_email", position: { x: 0, y: 100 } },
        { id: "c", type: "send_email", position: { x: 0, y: 200 } },
      ],
      edges: [
        { id: "ab", source: "a", target: "b" },
        { id: "bc", source: "b", target: "c" },
        { id: "ca", source: "c", target: "a" },
      ],
    };
    const store = createGraphStore(fromGraphJson(graph));
    const id = insertStepOnEdge(store, TYPES, "ab", { type: "send_email", label: "", config: {} })!;
    const y = Object.fromEntries(store.getState().nodes.map((node) => [node.id, node.position.y]));
    expect(y.a).toBe(0);
    expect(y[id]).toBeGreaterThan(0);
    expect(y.b).toBeGreaterThan(y[id]!);
    expect(y.c! - y.b!).toBe(100);
  });

  it("leaves the target unconnected when the step has no exit, and refuses an unknown edge", () => {
    const store = storeWithBranch();
    const id = insertStepOnEdge(store, TYPES, "e1", { type: "exit", label: "", config: {} });
    expect(store.getState().edges.map(({ source, target }) => [source, target])).toEqual([["c", id]]);
    expect(insertStepOnEdge(store, TYPES, "gone", { type: "exit", label: "", config: {} })).toBeNull();
  });
});

describe("sticky notes", () => {
  const note = { id: "note_1", text: "Ask Ada", position: { x: 300, y: 40 }, width: 240, height: 150 };

  it("round-trip through the draft's JSON beside the steps, and a graph without notes stays without", () => {
    const graph: GraphJson = {
      nodes: [{ id: "n1", type: "send_email", position: { x: 0, y: 0 }, data: { label: "Hi", config: {} } }],
      edges: [],
      notes: [note],
    };
    const { nodes, edges } = fromGraphJson(graph);
    expect(nodes.filter(isNote).map((node) => node.data.label)).toEqual(["Ask Ada"]);
    expect(toGraphJson(nodes, edges)).toEqual(graph);
    expect(toGraphJson(nodes.filter((node) => !isNote(node)), edges)).not.toHaveProperty("notes");
  });

  it("are added, typed in, resized and deleted with undo, and never copied as steps", async () => {
    const store = createGraphStore();
    const id = store.getState().addNote({ x: 10, y: 20 });
    store.getState().updateLabel(id, "Check the delay", 0);
    store.getState().beginGesture();
    store.getState().onNodesChange([
      { type: "dimensions", id, dimensions: { width: 300, height: 200 }, resizing: true, setAttributes: true },
    ]);
    store.getState().endGesture();
    expect(toGraphJson(store.getState().nodes, []).notes).toEqual([
      { id, text: "Check the delay", position: { x: 10, y: 20 }, width: 300, height: 200 },
    ]);
    store.getState().onNodesChange([{ type: "remove", id }]);
    await Promise.resolve(); // a removal is one step of history once its tick ends
    expect(store.getState().nodes).toEqual([]);
    store.temporal.getState().undo();
    expect(toGraphJson(store.getState().nodes, []).notes?.[0]?.width).toBe(300);
    store.temporal.getState().undo();
    expect(toGraphJson(store.getState().nodes, []).notes?.[0]).toMatchObject({ text: "Check the delay", width: 220 });
  });
});

describe("issue texts name steps as the canvas does", () => {
  const nodes = [
    { id: "n3", type: "send_email", data: { label: "Welcome", config: {} } },
    { id: "n4", type: "send_email", data: { label: "", config: {} } },
    { id: "n5", type: "send_email", data: { label: "Ada's note", config: {} } },
  ];

  it("rewrites the server's 'label' (id) and node id into type and name", () => {
    expect(nodeName(nodes[0]!, EMAIL)).toBe("Send email “Welcome”");
    expect(namedMessage("'Welcome' (n3): config.template_id required.", nodes, TYPES)).toBe(
      "Send email “Welcome”: config.template_id required.",
    );
    expect(namedMessage("No trigger leads to node n4; connect it.", nodes, TYPES)).toBe(
      "No trigger leads to Send email; connect it.",
    );
    expect(namedMessage(`The 'yes' branch of "Ada's note" (n5) is not connected.`, nodes, TYPES)).toBe(
      "The 'yes' branch of Send email “Ada's note” is not connected.",
    );
    expect(namedMessage("The edge points to a missing target 'n9'.", nodes, TYPES)).toBe(
      "The edge points to a missing target 'n9'.",
    );
  });
});

describe("a new sticky note", () => {
  it("goes where it covers no step", () => {
    const store = createGraphStore(fromGraphJson({ nodes: [{ id: "a", type: "send_email", position: { x: 0, y: 0 } }], edges: [] }));
    const id = store.getState().addNote({ x: 10, y: 10 });
    const note = store.getState().nodes.find((node) => node.id === id)!;
    expect(note.position.y).toBe(10);
    expect(note.position.x).toBeGreaterThanOrEqual(220);
  });

  it("leaves a step measured narrow the room to widen when its findings are drawn", () => {
    const store = createGraphStore(fromGraphJson({ nodes: [{ id: "a", type: "send_email", position: { x: 0, y: 0 } }], edges: [] }));
    store.getState().onNodesChange([{ type: "dimensions", id: "a", dimensions: { width: 180, height: 60 }, setAttributes: true }]);
    const id = store.getState().addNote({ x: 10, y: 10 });
    const note = store.getState().nodes.find((node) => node.id === id)!;
    // The widest a step is drawn (.flow-node's max-width 260 px, its padding and borders: 288 px).
    expect(note.position.x).toBeGreaterThanOrEqual(289);
  });
});
