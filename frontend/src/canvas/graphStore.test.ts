import { describe, expect, it } from "vitest";
import { copySelection, readCopied, storeCopied } from "./graph";
import { createGraphStore, tracked, TYPING_MERGE_MS } from "./graphStore";

function storeWithTwoNodes() {
  const store = createGraphStore();
  const a = store.getState().addNode({ type: "trigger_event", label: "Signed up", config: { event: "x.y" }, x: 0, y: 0 });
  const b = store.getState().addNode({ type: "send_email", label: "Welcome", config: {}, x: 0, y: 200 });
  return { store, a, b };
}

describe("graph store history", () => {
  it("undoes and redoes adding a node", () => {
    const { store } = storeWithTwoNodes();
    expect(store.getState().nodes).toHaveLength(2);
    store.temporal.getState().undo();
    expect(store.getState().nodes).toHaveLength(1);
    store.temporal.getState().redo();
    expect(store.getState().nodes.map((node) => node.data.label)).toEqual(["Signed up", "Welcome"]);
  });

  it("deletes a node and its edges as one step, and one undo brings both back", async () => {
    const { store, a, b } = storeWithTwoNodes();
    expect(store.getState().connect({ source: a, sourceHandle: "default", target: b, targetHandle: null })).toBeNull();
    const edge = store.getState().edges[0]!.id;
    // As React Flow deletes a step: its edges first, then the step, in two calls of the same tick.
    store.getState().onEdgesChange([{ type: "remove", id: edge }]);
    store.getState().onNodesChange([{ type: "remove", id: b }]);
    await Promise.resolve(); // the tick's changes are one step once it ends
    expect(store.getState().edges).toHaveLength(0);
    store.temporal.getState().undo();
    expect(store.getState().nodes).toHaveLength(2);
    expect(store.getState().edges).toHaveLength(1);
    store.temporal.getState().redo();
    expect(store.getState().nodes).toHaveLength(1);
    expect(store.getState().edges).toHaveLength(0);
  });

  it("takes a removed node's edges with it even when React Flow reports only the node", async () => {
    const { store, a, b } = storeWithTwoNodes();
    store.getState().connect({ source: a, sourceHandle: "default", target: b, targetHandle: null });
    store.getState().onNodesChange([{ type: "remove", id: b }]);
    await Promise.resolve();
    expect(store.getState().edges).toHaveLength(0);
    store.temporal.getState().undo();
    expect(store.getState().edges).toHaveLength(1);
  });

  it("records a drag of many moves as one step", () => {
    const { store, a } = storeWithTwoNodes();
    const steps = store.temporal.getState().pastStates.length;
    store.getState().beginGesture();
    for (let x = 1; x <= 30; x += 1) {
      store.getState().onNodesChange([{ type: "position", id: a, position: { x, y: 0 }, dragging: true }]);
    }
    // The store says a drag is under way (what can wait for its end waits), and that it is over.
    expect(store.getState().moving).toBe(true);
    store.getState().endGesture();
    expect(store.getState().moving).toBe(false);
    expect(store.temporal.getState().pastStates).toHaveLength(steps + 1);
    store.temporal.getState().undo();
    expect(store.getState().nodes.find((node) => node.id === a)?.position).toEqual({ x: 0, y: 0 });
  });

  it("does not record selection as an edit", () => {
    const { store, a } = storeWithTwoNodes();
    const steps = store.temporal.getState().pastStates.length;
    store.getState().onNodesChange([{ type: "select", id: a, selected: true }]);
    expect(store.temporal.getState().pastStates).toHaveLength(steps);
  });

  it("merges typing into one field, but not edits far apart in time", () => {
    const { store, b } = storeWithTwoNodes();
    const steps = store.temporal.getState().pastStates.length;
    store.getState().updateConfig(b, { template_id: "t" }, 1_000);
    store.getState().updateConfig(b, { template_id: "te" }, 1_200);
    store.getState().updateConfig(b, { template_id: "tem" }, 1_400);
    expect(store.temporal.getState().pastStates).toHaveLength(steps + 1);
    store.getState().updateConfig(b, { template_id: "temp" }, 1_400 + TYPING_MERGE_MS + 1);
    expect(store.temporal.getState().pastStates).toHaveLength(steps + 2);
    store.temporal.getState().undo();
    store.temporal.getState().undo();
    expect(store.getState().nodes.find((node) => node.id === b)?.data.config).toEqual({});
  });
});

describe("graph store branch rules", () => {
  it("refuses a second edge from the same branch and says why", () => {
    const { store, a, b } = storeWithTwoNodes();
    const c = store.getState().addNode({ type: "add_tag", label: "Tag", config: {}, x: 0, y: 400 });
    expect(store.getState().connect({ source: a, sourceHandle: "default", target: b, targetHandle: null })).toBeNull();
    const refusal = store.getState().connect({ source: a, sourceHandle: "default", target: c, targetHandle: null });
    expect(refusal).toMatch(/already leads to another step/);
    expect(store.getState().edges).toHaveLength(1);
  });

  it("lets each branch of a node take its own edge", () => {
    const store = createGraphStore();
    const cond = store.getState().addNode({ type: "condition", label: "If", config: {}, x: 0, y: 0 });
    const yes = store.getState().addNode({ type: "add_tag", label: "Yes", config: {}, x: 0, y: 0 });
    const no = store.getState().addNode({ type: "add_tag", label: "No", config: {}, x: 0, y: 0 });
    expect(store.getState().connect({ source: cond, sourceHandle: "yes", target: yes, targetHandle: null })).toBeNull();
    expect(store.getState().connect({ source: cond, sourceHandle: "no", target: no, targetHandle: null })).toBeNull();
    expect(store.getState().edges.map((edge) => [edge.sourceHandle, edge.label])).toEqual([
      ["yes", "yes"],
      ["no", "no"],
    ]);
  });

  it("refuses a step that leads to itself", () => {
    const { store, a } = storeWithTwoNodes();
    expect(store.getState().connect({ source: a, sourceHandle: "default", target: a, targetHandle: null })).toMatch(
      /itself/,
    );
  });
});

describe("graph store copy and paste", () => {
  it("pastes copies with fresh ids, their inner edges only, selected, as one step of history", () => {
    const { store, a, b } = storeWithTwoNodes();
    const c = store.getState().addNode({ type: "add_tag", label: "Tag", config: { tag: "x" }, x: 0, y: 400 });
    store.getState().connect({ source: a, sourceHandle: "default", target: b, targetHandle: null });
    store.getState().connect({ source: b, sourceHandle: "default", target: c, targetHandle: null });
    store.getState().onNodesChange([
      { type: "select", id: a, selected: true },
      { type: "select", id: b, selected: true },
    ]);
    const copied = copySelection(store.getState().nodes, store.getState().edges)!;
    expect(copied.nodes.map((node) => node.id)).toEqual([a, b]);
    expect(copied.edges).toHaveLength(1);

    const steps = store.temporal.getState().pastStates.length;
    store.getState().paste(copied, { x: 40, y: 40 });
    const { nodes, edges } = store.getState();
    expect(nodes).toHaveLength(5);
    const pasted = nodes.slice(3);
    expect(pasted.map((node) => node.data.label)).toEqual(["Signed up", "Welcome"]);
    expect(pasted.every((node) => node.selected && ![a, b, c].includes(node.id))).toBe(true);
    expect(pasted[1]?.position).toEqual({ x: 40, y: 240 });
    expect(nodes.slice(0, 3).some((node) => node.selected)).toBe(false);
    const newEdge = edges[2]!;
    expect([newEdge.source, newEdge.target]).toEqual([pasted[0]?.id, pasted[1]?.id]);
    expect(store.temporal.getState().pastStates).toHaveLength(steps + 1);

    store.temporal.getState().undo();
    expect(store.getState().nodes).toHaveLength(3);
    expect(store.getState().edges).toHaveLength(2);
  });

  it("keeps copied steps in storage any workflow's canvas reads, and ignores what is not steps", () => {
    const memory = new Map<string, string>();
    const storage = {
      getItem: (key: string) => memory.get(key) ?? null,
      setItem: (key: string, value: string) => void memory.set(key, value),
    } as Storage;
    expect(readCopied(storage)).toBeNull();
    const copied = { nodes: [{ id: "n1", type: "add_tag", position: { x: 0, y: 0 }, data: { label: "T", config: {} } }], edges: [] };
    storeCopied(copied, storage);
    expect(readCopied(storage)).toEqual(copied);
    memory.set("penguinflow.builder.copied-steps", "{not json");
    expect(readCopied(storage)).toBeNull();
  });
});

describe("graph store moves", () => {
  it("moves many steps as one step of history and leaves unnamed steps where they are", () => {
    const { store, a, b } = storeWithTwoNodes();
    const steps = store.temporal.getState().pastStates.length;
    store.getState().moveTo({ [a]: { x: 10, y: 10 }, [b]: { x: 10, y: 110 }, gone: { x: 5, y: 5 } });
    expect(store.getState().nodes.map((node) => node.position)).toEqual([{ x: 10, y: 10 }, { x: 10, y: 110 }]);
    expect(store.temporal.getState().pastStates).toHaveLength(steps + 1);
    store.temporal.getState().undo();
    expect(store.getState().nodes.map((node) => node.position)).toEqual([{ x: 0, y: 0 }, { x: 0, y: 200 }]);
  });
});

describe("graph store batches", () => {
  it("applies an added node, rewired edges and moved steps as one step of history", () => {
    const { store, a, b } = storeWithTwoNodes();
    store.getState().connect({ source: a, sourceHandle: "default", target: b, targetHandle: null });
    const before = tracked(store.getState());
    const steps = store.temporal.getState().pastStates.length;
    const middle = { id: "m", type: "delay", position: { x: 0, y: 100 }, data: { label: "Wait", config: {} } };
    store.getState().applyGraph({
      nodes: [...store.getState().nodes.map((node) => (node.id === b ? { ...node, position: { x: 0, y: 300 } } : node)), middle],
      edges: [
        { id: "e1", source: a, target: "m", sourceHandle: "default" },
        { id: "e2", source: "m", target: b, sourceHandle: "default" },
      ],
    });
    expect(store.temporal.getState().pastStates).toHaveLength(steps + 1);
    store.temporal.getState().undo();
    expect(tracked(store.getState())).toEqual(before);
  });

  it("ends a run of typing: the next keystroke after a batch is a step of its own", () => {
    const { store, b } = storeWithTwoNodes();
    store.getState().updateConfig(b, { template_id: "t" }, 1_000);
    store.getState().applyGraph({ nodes: store.getState().nodes, edges: [] });
    const steps = store.temporal.getState().pastStates.length;
    store.getState().updateConfig(b, { template_id: "te" }, 1_100);
    expect(store.temporal.getState().pastStates).toHaveLength(steps + 1);
  });
});
