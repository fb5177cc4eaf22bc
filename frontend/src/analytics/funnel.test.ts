import { describe, expect, it } from "vitest";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { buildFunnel, graphOrder } from "./funnel";
import { fromBefore } from "./FunnelSection";

function info(type: string, kind: NodeTypeInfo["kind"], branches: NodeTypeInfo["branches"], label = type): NodeTypeInfo {
  const branchSource = branches === "dynamic" ? { items: "variants", id: "id", label: "label", always: [] } : null;
  return { type, kind, label, description: "", config_schema: {}, branches, branch_source: branchSource };
}

const TYPES = new Map(
  [
    info("trigger_manual", "trigger", ["default"], "Manual trigger"),
    info("condition", "logic", ["yes", "no"], "Condition"),
    info("split", "logic", "dynamic", "Split"),
    info("delay", "wait", ["default"], "Delay"),
    info("add_tag", "action", ["default"], "Add tag"),
  ].map((item) => [item.type, item]),
);

const node = (id: string, type: string, config: Record<string, unknown> = {}, label = "") => ({
  id, type, position: { x: 0, y: 0 }, data: { label, config },
});
const edge = (source: string, target: string, branch = "default") => ({ id: `${source}-${target}`, source, target, sourceHandle: branch });

// Drawn out of order on purpose: the "no" edge and variant B's come first in the JSON.
const GRAPH: GraphJson = {
  nodes: [
    node("tagB", "add_tag", {}, "Tag B"),
    node("t", "trigger_manual", {}, "Signed up"),
    node("k", "condition", {}, "Is VIP?"),
    node("s", "split", { variants: [{ id: "A", label: "Short", weight: 1 }, { id: "B", label: "Long", weight: 1 }] }),
    node("tagA", "add_tag", {}, "Tag A"),
    node("vip", "add_tag", {}, "VIP tag"),
    node("orphan", "delay", {}, "Left over"),
  ],
  edges: [edge("s", "tagB", "B"), edge("k", "s", "no"), edge("t", "k"), edge("k", "vip", "yes"), edge("s", "tagA", "A")],
};

const counts = (entered: number, waiting_now = 0, failed = 0, goal_reached = 0) => ({ entered, succeeded: 0, failed, waiting_now, goal_reached });

describe("graphOrder", () => {
  it("walks from the trigger breadth-first, each step's branches in its type's order, unreachable steps last", () => {
    expect(graphOrder(GRAPH, TYPES)).toEqual([
      { id: "t", depth: 0 },
      { id: "k", depth: 1 },
      { id: "vip", depth: 2 }, // yes before no
      { id: "s", depth: 2 },
      { id: "tagA", depth: 3 }, // variant A before B
      { id: "tagB", depth: 3 },
      { id: "orphan", depth: 0 },
    ]);
  });

  it("visits a step that two branches join only once", () => {
    const joined: GraphJson = {
      nodes: [node("t", "trigger_manual"), node("k", "condition"), node("a", "add_tag")],
      edges: [edge("t", "k"), edge("k", "a", "yes"), edge("k", "a", "no")],
    };
    expect(graphOrder(joined, TYPES).map((step) => step.id)).toEqual(["t", "k", "a"]);
  });
});

describe("buildFunnel", () => {
  const funnel = buildFunnel(
    GRAPH,
    { t: counts(200), k: counts(200), vip: counts(40), s: counts(150, 0, 0), tagA: counts(70), tagB: counts(80, 3, 2, 9), gone: counts(9) },
    TYPES,
  );

  it("gives each step its entries, its share of all entries and what it lost since the step before", () => {
    expect(funnel.entries).toBe(200);
    const byId = new Map(funnel.steps.map((step) => [step.nodeId, step]));
    expect(byId.get("t")).toMatchObject({ name: "Signed up", entered: 200, reach: 1, previous: null, dropOff: null });
    expect(byId.get("k")).toMatchObject({ entered: 200, dropOff: 0, branchShare: null });
    expect(byId.get("s")).toMatchObject({ name: "Split", entered: 150, dropOff: null, previous: { name: "Is VIP?", branch: "no" } });
    expect(byId.get("s")!.branchShare).toBeCloseTo(0.75);
    expect(byId.get("tagB")).toMatchObject({ entered: 80, waitingNow: 3, failed: 2, goals: 9, reach: 0.4, previous: { branch: "Long" } });
    expect(byId.get("orphan")).toMatchObject({ entered: 0, reach: 0, previous: null });
  });

  it("says what happened between two steps in words", () => {
    const byId = new Map(funnel.steps.map((step) => [step.nodeId, step]));
    expect(fromBefore(byId.get("t")!)).toBe("—");
    expect(fromBefore(byId.get("k")!)).toBe("none lost");
    expect(fromBefore(byId.get("tagA")!)).toBe("46.7% of “Split” took “Short”");
    const chain = buildFunnel(
      { nodes: [node("t", "trigger_manual", {}, "In"), node("d", "delay", {}, "Wait")], edges: [edge("t", "d")] },
      { t: counts(10), d: counts(4) },
      TYPES,
    );
    expect(fromBefore(chain.steps[1]!)).toBe("6 fewer (60.0%)");
    const waiting = buildFunnel(
      { nodes: [node("d", "delay", {}, "Wait"), node("a", "add_tag", {}, "Tag")], edges: [edge("d", "a")] },
      { d: counts(11, 7), a: counts(0) },
      TYPES,
    );
    expect(fromBefore(waiting.steps[1]!)).toBe("11 fewer (100.0%), of whom 7 still waiting at “Wait”");
  });

  it("lists counted steps the graph no longer has apart, and has no reach when nothing entered", () => {
    expect(funnel.elsewhere).toEqual([{ nodeId: "gone", entered: 9, waitingNow: 0, failed: 0 }]);
    const empty = buildFunnel(GRAPH, {}, TYPES);
    expect(empty.entries).toBe(0);
    expect(empty.steps.every((step) => step.entered === 0 && step.reach === null)).toBe(true);
  });
});
