import { describe, expect, it } from "vitest";
import { movesToShow, timersText, type MigrationPlan, type PlannedMove } from "./migrationPlan";

const move = (from: string, contacts: number, mapped = false): PlannedMove => ({
  from_version: 1,
  from_node: from,
  to_node: from,
  contacts,
  waiting: contacts,
  active: 0,
  mid_step: 0,
  timers: { kept: contacts, recomputed: 0, fired: 0 },
  timer_rule: "Same timing.",
  mapped,
});

describe("the migration plan's lines", () => {
  it("shows the moves that move somebody and the mapped ones", () => {
    const plan = { moves: [move("a", 0), move("b", 2), move("c", 0, true)] } as unknown as MigrationPlan;
    expect(movesToShow(plan).map((m) => m.from_node)).toEqual(["b", "c"]);
  });

  it("says what happens to the timers, leaving out the kinds none has", () => {
    expect(timersText({ kept: 3, recomputed: 0, fired: 1 })).toBe("3 kept, 1 fired");
    expect(timersText({ kept: 0, recomputed: 0, fired: 0 })).toBe("");
  });
});
