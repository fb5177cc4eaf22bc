import { describe, expect, it } from "vitest";
import type { WorkflowAnalytics } from "../api/types";
import { allocationFigures, nodeFigures, notStartedFigures } from "./counters";

const change = {
  at: "2026-12-03T08:00:00Z",
  goal: "bought",
  shares: { a: 0.22, b: 0.78 },
  probability_best: { a: 0.2, b: 0.8 },
  winner: null,
  reason: "Thompson sampling for goal 'bought': …",
};

function analytics(allocations: WorkflowAnalytics["split_allocations"]): WorkflowAnalytics {
  return { nodes: {}, splits: { s: {} }, split_allocations: allocations } as unknown as WorkflowAnalytics;
}

describe("allocationFigures", () => {
  it("says each variant's share, largest first, with the reason to show on hover", () => {
    const figures = allocationFigures(analytics({ s: { ...change, changes: [change] } }), "s");
    expect(figures).toEqual({ summary: "Optimizing for “bought”: b 78% · a 22%", reason: change.reason, winner: null });
  });

  it("names the winner once one is declared", () => {
    const won = { ...change, shares: { a: 0, b: 1 }, winner: "b", reason: "b is the winner…" };
    expect(allocationFigures(analytics({ s: { ...won, changes: [won] } }), "s")?.summary).toBe("Winner: b (goal “bought”)");
  });

  it("is null for a step that is no optimizing split", () => {
    expect(allocationFigures(analytics({}), "s")).toBeNull();
    expect(nodeFigures(analytics({}), "s").allocation).toBeNull();
  });
});

describe("notStartedFigures", () => {
  function withTriggers(triggers: WorkflowAnalytics["triggers"]): WorkflowAnalytics {
    return { nodes: {}, splits: {}, triggers } as unknown as WorkflowAnalytics;
  }

  it("adds up a trigger's entries that did not start and says why, largest first", () => {
    const figures = notStartedFigures(
      withTriggers({ t: { not_entered: 1, skipped: { already_enrolled: 1200, duplicate: 3 } } }),
      "t",
    );
    expect(figures).toEqual({
      total: 1204,
      reasons: "1,200 were in the workflow already · 3 were entering twice at once · 1 could not be judged by the trigger's filter",
    });
  });

  it("says a reason it does not know by its code", () => {
    expect(notStartedFigures(withTriggers({ t: { not_entered: 0, skipped: { brand_new: 1 } } }), "t")?.reasons).toBe("1 for the reason “brand_new”");
  });

  it("is null for a step with nothing that did not start, and for an answer without triggers", () => {
    expect(notStartedFigures(withTriggers({ t: { not_entered: 0, skipped: {} } }), "t")).toBeNull();
    expect(notStartedFigures(withTriggers({}), "k")).toBeNull();
    expect(nodeFigures({ nodes: {}, splits: {} } as unknown as WorkflowAnalytics, "t").notStarted).toBeNull();
  });
});
