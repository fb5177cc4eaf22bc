import { describe, expect, it, vi } from "vitest";
import { flowEdge, type FlowNode } from "./graph";
import { createGraphStore } from "./graphStore";
import { draftMayDiffer, watchDraftEdits } from "./useDraftAutosave";

const step: FlowNode = { id: "a", type: "add_tag", position: { x: 0, y: 0 }, data: { label: "A", config: {} } };
const edges = [flowEdge("e", "a", "b", "default")];

describe("draftMayDiffer", () => {
  it("ignores what is not the draft: selecting or measuring a step", () => {
    const before = { nodes: [step], edges };
    expect(draftMayDiffer(before, { nodes: [{ ...step, selected: true, measured: { width: 1, height: 2 } }], edges })).toBe(false);
    expect(draftMayDiffer(before, { nodes: [step], edges: [{ ...edges[0]!, selected: true }] })).toBe(false);
  });

  it("sees a moved, renamed, added or reconnected step", () => {
    const before = { nodes: [step], edges };
    expect(draftMayDiffer(before, { nodes: [{ ...step, position: { x: 1, y: 0 } }], edges })).toBe(true);
    expect(draftMayDiffer(before, { nodes: [{ ...step, data: { ...step.data, label: "B" } }], edges })).toBe(true);
    expect(draftMayDiffer(before, { nodes: [step, { ...step, id: "b" }], edges })).toBe(true);
    expect(draftMayDiffer(before, { nodes: [step], edges: [{ ...edges[0]!, target: "c" }] })).toBe(true);
  });
});

describe("watchDraftEdits", () => {
  it("saves a drag's moves once, when the steps come to rest, and holds a save due before it", () => {
    const store = createGraphStore();
    const id = store.getState().addNode({ type: "add_tag", label: "", config: {}, x: 0, y: 0 });
    const [edited, save, hold] = [vi.fn(), vi.fn(), vi.fn()];
    const stop = watchDraftEdits(store, { edited, save, hold });
    store.getState().updateLabel(id, "Tag them");
    expect(save).toHaveBeenCalledTimes(1);
    store.getState().beginGesture();
    for (let x = 1; x <= 5; x += 1) {
      store.getState().onNodesChange([{ type: "position", id, position: { x, y: 0 }, dragging: true }]);
    }
    expect(save).toHaveBeenCalledTimes(1); // nothing saved mid-drag
    expect(hold).toHaveBeenCalled();
    expect(edited).toHaveBeenCalledTimes(6);
    store.getState().endGesture();
    expect(save).toHaveBeenCalledTimes(2);
    // A drag that moved nothing asks for no save.
    store.getState().beginGesture();
    store.getState().endGesture();
    expect(save).toHaveBeenCalledTimes(2);
    stop();
  });
});
