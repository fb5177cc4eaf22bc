import { describe, expect, it } from "vitest";
import { flowEdge, type FlowNode } from "./graph";
import { layoutPositions } from "./layout";

function node(id: string, x = 0, y = 0): FlowNode {
  return { id, type: "add_tag", position: { x, y }, data: { label: id, config: {} } };
}

describe("layoutPositions", () => {
  it("puts each step below the one leading to it, branches side by side, without overlaps", () => {
    const nodes = [node("start", 500, 500), node("check", 500, 500), node("yes", 500, 500), node("no", 500, 500)];
    const edges = [
      flowEdge("e1", "start", "check", "default"),
      flowEdge("e2", "check", "yes", "yes"),
      flowEdge("e3", "check", "no", "no"),
    ];
    const at = layoutPositions(nodes, edges);
    expect(at.start!.y).toBeLessThan(at.check!.y);
    expect(at.check!.y).toBeLessThan(at.yes!.y);
    expect(at.yes!.y).toBe(at.no!.y);
    expect(Math.abs(at.yes!.x - at.no!.x)).toBeGreaterThanOrEqual(220);
    // The laid-out graph starts where the graph was: the user's view does not jump away.
    expect(Math.min(...Object.values(at).map((p) => p.x))).toBe(500);
    expect(Math.min(...Object.values(at).map((p) => p.y))).toBe(500);
  });
});
