import { describe, expect, it } from "vitest";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { branchesOf, flowEdge, fromGraphJson, toGraphJson, withIssues } from "./graph";

function info(branches: NodeTypeInfo["branches"]): NodeTypeInfo {
  return { type: "t", kind: "logic", label: "T", description: "", config_schema: {}, branches };
}

describe("draft JSON", () => {
  it("round-trips nodes, their extra data and edge branches", () => {
    const graph: GraphJson = {
      nodes: [
        { id: "n1", type: "condition", position: { x: 10, y: 20 }, data: { label: "If", config: { rule: true }, note: "x" } },
        { id: "n2", type: "add_tag", position: { x: 0, y: 0 }, data: { label: "Tag", config: { tag: "vip" } } },
      ],
      edges: [{ id: "e1", source: "n1", target: "n2", sourceHandle: "yes" }],
    };
    const { nodes, edges } = fromGraphJson(graph);
    expect(edges[0]?.label).toBe("yes");
    expect(toGraphJson(nodes, edges)).toEqual(graph);
  });
});

describe("branchesOf", () => {
  it("lists a type's fixed branches, the single default one without a label", () => {
    expect(branchesOf(info(["yes", "no"]), {})).toEqual([
      { id: "yes", label: "yes" },
      { id: "no", label: "no" },
    ]);
    expect(branchesOf(info(["default"]), {})).toEqual([{ id: "default", label: "" }]);
    expect(branchesOf(info([]), {})).toEqual([]);
  });

  it("reads dynamic branches from the ids of the config's list items", () => {
    const config = { variants: [{ id: "a", label: "Short subject", weight: 1 }, { id: "b", weight: 1 }] };
    expect(branchesOf(info("dynamic"), config)).toEqual([
      { id: "a", label: "Short subject" },
      { id: "b", label: "b" },
    ]);
  });
});

describe("withIssues", () => {
  it("labels the edges the server names, an error over a warning, and leaves the others alone", () => {
    const edges = [flowEdge("e1", "a", "b", "yes"), flowEdge("e2", "b", "c", "default")];
    const shown = withIssues(edges, {
      errors: [{ code: "bad", message: "This edge leaves by a branch that does not exist.", edge_id: "e1" }],
      warnings: [{ code: "meh", message: "Hmm.", edge_id: "e1" }, { code: "meh", message: "Node only.", node_id: "b" }],
    });
    expect(shown[0]).toMatchObject({ className: "edge-error", label: "This edge leaves by a branch that does not exist." });
    expect(shown[1]).toBe(edges[1]);
    expect(withIssues(edges, null)).toBe(edges);
  });
});
