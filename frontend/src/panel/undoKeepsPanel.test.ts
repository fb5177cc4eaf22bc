import { describe, expect, it } from "vitest";
import { createGraphStore } from "../canvas/graphStore";

describe("undo and redo with a step's settings open", () => {
  it("keep the step selected, so its panel stays open and shows the restored config", () => {
    const store = createGraphStore({
      nodes: [{ id: "n1", type: "delay", position: { x: 0, y: 0 }, data: { label: "Wait", config: { duration: "P2D" } } }],
      edges: [],
    });
    store.getState().onNodesChange([{ type: "select", id: "n1", selected: true }]);
    store.getState().updateConfig("n1", { duration: "PT3H" }, 0);
    store.temporal.getState().undo();
    expect(store.getState().nodes[0]).toMatchObject({ selected: true, data: { config: { duration: "P2D" } } });
    expect(store.temporal.getState().futureStates).toHaveLength(1);
    store.temporal.getState().redo();
    expect(store.getState().nodes[0]).toMatchObject({ selected: true, data: { config: { duration: "PT3H" } } });
    expect(store.temporal.getState().pastStates).toHaveLength(1);
  });
});
