import { describe, expect, it } from "vitest";
import { applyNodeChanges } from "@xyflow/react";
import type { NodeTypeInfo, ValidationReport } from "../api/types";
import { sameSteps, type FlowNode } from "./graph";
import { FINDING_SEPARATOR, findingsByNode } from "./issueNames";

const nodes: FlowNode[] = [
  { id: "n1", type: "trigger_event", position: { x: 0, y: 0 }, data: { label: "Signed up", config: {} } },
  { id: "n2", type: "send_email", position: { x: 0, y: 100 }, data: { label: "Welcome", config: {} } },
];
const types = new Map<string, NodeTypeInfo>([
  ["send_email", { type: "send_email", label: "Send email" } as NodeTypeInfo],
]);

describe("the steps apart from their positions", () => {
  it("are the same while a step is dragged or selected (React Flow keeps its data)", () => {
    const moved = applyNodeChanges([{ type: "position", id: "n2", position: { x: 40, y: 140 } }], nodes);
    const selected = applyNodeChanges([{ type: "select", id: "n1", selected: true }], moved);
    expect(moved).not.toBe(nodes);
    expect(sameSteps(nodes, moved)).toBe(true);
    expect(sameSteps(nodes, selected)).toBe(true);
  });

  it("differ when a step is renamed, retyped, added or removed", () => {
    const renamed = nodes.map((node) => (node.id === "n2" ? { ...node, data: { ...node.data, label: "Hi" } } : node));
    expect(sameSteps(nodes, renamed)).toBe(false);
    expect(sameSteps(nodes, [nodes[0]!, { ...nodes[1]!, type: "send_sms" }])).toBe(false);
    expect(sameSteps(nodes, nodes.slice(1))).toBe(false);
  });
});

describe("findingsByNode", () => {
  const report: ValidationReport = {
    errors: [{ node_id: "n2", code: "x", message: "'Welcome' (n2) has no template" }],
    warnings: [{ node_id: "n2", code: "y", message: "node n1 is never reached" }],
  } as ValidationReport;

  it("names the steps a finding mentions, errors before warnings", () => {
    const byNode = findingsByNode(report, nodes, types);
    expect(byNode.get("n2")?.split(FINDING_SEPARATOR)).toEqual([
      "eSend email “Welcome” has no template",
      "wtrigger_event “Signed up” is never reached",
    ]);
    expect(byNode.has("n1")).toBe(false);
  });

  it("is kept while steps only move, and renamed steps are named anew", () => {
    const first = findingsByNode(report, nodes, types);
    const moved = applyNodeChanges([{ type: "position", id: "n1", position: { x: 9, y: 9 } }], nodes);
    expect(findingsByNode(report, moved, types)).toBe(first);
    const renamed = moved.map((node) => (node.id === "n2" ? { ...node, data: { ...node.data, label: "Hello" } } : node));
    expect(findingsByNode(report, renamed, types).get("n2")).toContain("Send email “Hello” has no template");
  });
});
