import { describe, expect, it } from "vitest";
import { withLabelMarks } from "./InsertableEdge";

describe("an edge label's marks", () => {
  it("are carried in the data of a labelled, marked edge, and nothing else is copied", () => {
    const plain = { id: "e1", source: "a", target: "b" };
    const marked = { id: "e2", source: "a", target: "c", label: "Needs a target", className: "edge-error", data: { kept: 1 } };
    const unlabelled = { id: "e3", source: "a", target: "d", className: "test-dimmed" };
    const [first, second, third] = withLabelMarks([plain, marked, unlabelled]);
    expect(first).toBe(plain);
    expect(third).toBe(unlabelled);
    expect(second!.data).toEqual({ kept: 1, labelMarks: "edge-error" });
  });
});
