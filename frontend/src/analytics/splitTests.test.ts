import { describe, expect, it } from "vitest";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { MIN_SAMPLE, rateRange, splitTestViews, verdictOf, type VariantRow } from "./splitTests";

const SPLIT: NodeTypeInfo = {
  type: "split", kind: "logic", label: "Split", description: "", config_schema: {}, branches: "dynamic",
  branch_source: { items: "variants", id: "id", label: "label", always: [] },
};
const TYPES = new Map([["split", SPLIT]]);
const GRAPH: GraphJson = {
  nodes: [
    { id: "s", type: "split", position: { x: 0, y: 0 },
      data: { label: "Subject test", config: { variants: [{ id: "A", label: "Short", weight: 1 }, { id: "B", label: "Long", weight: 1 }] } } },
    { id: "s2", type: "split", position: { x: 0, y: 0 }, data: { label: "", config: { variants: [{ id: "x", weight: 1 }] } } },
  ],
  edges: [],
};

function row(id: string, entered: number, goals: number, probabilityBest: number): VariantRow {
  return { id, label: id, entered, goals, rate: entered ? goals / entered : 0, ...rateRange(goals, entered), probabilityBest };
}

describe("splitTestViews", () => {
  const views = splitTestViews(
    {
      s: { method: "exact", samples: 0, variants: {
        B: { entered: 1000, goal_reached: 120, rate: 0.12, probability_best: 0.9241 },
        A: { entered: 1000, goal_reached: 100, rate: 0.1, probability_best: 0.0759 },
        old: { entered: 5, goal_reached: 1, rate: 0.2, probability_best: 0 },
      } },
    },
    GRAPH,
    TYPES,
  );

  it("names variants as the split does, in its order, with variants it no longer has after them", () => {
    expect(views.map((view) => view.name)).toEqual(["Subject test", "Split"]);
    expect(views[0]!.variants.map((variant) => [variant.id, variant.label, variant.entered, variant.goals, variant.probabilityBest])).toEqual([
      ["A", "Short", 1000, 100, 0.0759],
      ["B", "Long", 1000, 120, 0.9241],
      ["old", "old", 5, 1, 0],
    ]);
    expect(views[0]!.method).toMatch(/exactly/);
  });

  it("lists a split with no figures yet with zeros and says so", () => {
    expect(views[1]!.variants).toMatchObject([{ id: "x", entered: 0, goals: 0, probabilityBest: 0 }]);
    expect(views[1]!.verdict.kind).toBe("no-data");
  });
});

describe("verdictOf", () => {
  it("refuses to call a winner while a variant has fewer contacts than the minimum", () => {
    const verdict = verdictOf([row("A", MIN_SAMPLE - 1, 30, 0.99), row("B", 500, 10, 0.01)]);
    expect(verdict.kind).toBe("too-early");
    expect(verdict.text).toContain(`“A” has ${MIN_SAMPLE - 1} contacts`);
  });

  it("calls a winner at a 95% chance of being best, and no winner below it", () => {
    expect(verdictOf([row("A", 1000, 100, 0.04), row("B", 1000, 140, 0.96)])).toMatchObject({ kind: "winner", variant: "B" });
    const undecided = verdictOf([row("A", 1000, 100, 0.0759), row("B", 1000, 120, 0.9241)]);
    expect(undecided.kind).toBe("undecided");
    expect(undecided.text).toContain("“B” leads with a 92% chance");
  });
});

describe("rateRange", () => {
  it("is narrow on many contacts and wide on few, within 0..1", () => {
    const many = rateRange(1200, 10_000);
    const few = rateRange(1, 10);
    expect(many.high - many.low).toBeLessThan(0.015);
    expect(few.high - few.low).toBeGreaterThan(0.3);
    expect(rateRange(0, 0)).toEqual({ low: expect.any(Number), high: expect.any(Number) });
    expect(few.low).toBeGreaterThanOrEqual(0);
  });
});
