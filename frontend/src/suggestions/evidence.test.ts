import { describe, expect, it } from "vitest";
import { evidenceLines, type Suggestion } from "./evidence";

describe("evidenceLines", () => {
  it("says each split variant's goal rate", () => {
    const suggestion: Suggestion = {
      id: "0123456789abcdef",
      kind: "promote_split_winner",
      node_id: "s",
      message: "",
      evidence: { variants: { a: { entered: 1000, goal_reached: 100 }, b: { entered: 0, goal_reached: 0 } } },
    };
    expect(evidenceLines(suggestion)).toEqual([
      "a: 100 of 1,000 reached the goal (10.0%)",
      "b: 0 of 0 reached the goal (no entries)",
    ]);
  });

  it("says a failing step's share", () => {
    const suggestion: Suggestion = {
      id: "0123456789abcdef",
      kind: "node_failing",
      node_id: "w",
      message: "",
      evidence: { entered: 200, failed: 80, fail_rate: 0.4 },
    };
    expect(evidenceLines(suggestion)).toEqual(["80 of 200 failed (40.0%)"]);
  });
});
