import { describe, expect, it } from "vitest";
import { flowEdge, type FlowNode } from "./graph";
import { draftMayDiffer } from "./useDraftAutosave";

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
