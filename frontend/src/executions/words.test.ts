import { describe, expect, it } from "vitest";
import { durationText, plural, refusalsText, valueText } from "./words";

describe("words of the executions screens", () => {
  it("says durations at the scale that matters", () => {
    expect(durationText(null)).toBe("—");
    expect(durationText(850)).toBe("850 ms");
    expect(durationText(4200)).toBe("4.2 s");
    expect(durationText(185_000)).toBe("3 min 5 s");
    expect(durationText(7_800_000)).toBe("2 h 10 min");
    expect(durationText(273_600_000)).toBe("3 d 4 h");
  });

  it("counts refusals by reason, in words", () => {
    expect(refusalsText({ a: "already_enrolled", b: "already_enrolled", c: "brand_new" })).toBe(
      "2 because the contact is in the workflow again already, 1 because brand_new",
    );
    expect(refusalsText({})).toBe("");
  });

  it("says counts and values plainly", () => {
    expect(plural(1, "execution")).toBe("1 execution");
    expect(plural(1200, "execution")).toBe(`${(1200).toLocaleString()} executions`);
    expect(valueText("pro")).toBe('"pro"');
    expect(valueText(null)).toBe("no value");
    expect(valueText(3)).toBe("3");
  });
});
