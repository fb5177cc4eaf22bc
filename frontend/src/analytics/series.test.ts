import { describe, expect, it } from "vitest";
import { executionsLink, goalsLink, nodeFigures } from "./counters";
import { rangeProblem, seriesView, shiftDay, todayUtc } from "./series";
import type { WorkflowAnalytics } from "../api/types";

describe("seriesView", () => {
  it("labels each UTC day and totals the range", () => {
    const view = seriesView([
      { day: "2026-11-30", entries: 3, goals: 0 },
      { day: "2026-12-01", entries: 0, goals: 2 },
    ]);
    expect(view.points.map((point) => point.label)).toEqual(["Nov 30", "Dec 1"]);
    expect([view.entries, view.goals, view.hasData]).toEqual([3, 2, true]);
    expect(seriesView([{ day: "2026-12-01", entries: 0, goals: 0 }]).hasData).toBe(false);
  });

  it("counts days back in UTC across months and checks a range", () => {
    expect(shiftDay("2026-03-01", 1)).toBe("2026-02-28");
    expect(shiftDay("2026-12-02", 29)).toBe("2026-11-03");
    expect(todayUtc(new Date("2026-12-02T23:30:00-05:00"))).toBe("2026-12-03");
    expect(rangeProblem("2026-12-02", "2026-12-01")).toMatch(/after the last/);
    expect(rangeProblem("", "2026-12-01")).toMatch(/both days/);
    expect(rangeProblem("2026-12-01", "2026-12-01")).toBeNull();
  });
});

describe("canvas counters", () => {
  const analytics = {
    nodes: {
      s: { entered: 12, succeeded: 12, failed: 1, waiting_now: 0, goal_reached: 3 },
      d: { entered: 5, succeeded: 0, failed: 0, waiting_now: 4, goal_reached: 1 },
    },
    splits: { s: { A: { entered: 6, goal_reached: 2 }, B: { entered: 6, goal_reached: 1 } } },
  } as unknown as WorkflowAnalytics;

  it("gives each step its figures, zeros for a step not reached", () => {
    expect(nodeFigures(analytics, "s")).toEqual({ entered: 12, waitingNow: 0, failed: 1, goals: 3, isSplit: true, allocation: null, notStarted: null });
    expect(nodeFigures(analytics, "d")).toEqual({ entered: 5, waitingNow: 4, failed: 0, goals: 1, isSplit: false, allocation: null, notStarted: null });
    expect(nodeFigures(analytics, "new")).toEqual({ entered: 0, waitingNow: 0, failed: 0, goals: 0, isSplit: false, allocation: null, notStarted: null });
  });

  it("links to the executions at the step, with the status when there is one", () => {
    expect(executionsLink("w1", "n 1")).toBe("/executions?workflow=w1&node=n+1");
    expect(executionsLink("w1", "d", "waiting")).toBe("/executions?workflow=w1&node=d&status=waiting");
    expect(goalsLink("w1", "s", true)).toBe("/workflows/w1/analytics#split-s");
    expect(goalsLink("w1", "d", false)).toBe("/workflows/w1/analytics#step-d");
  });
});
