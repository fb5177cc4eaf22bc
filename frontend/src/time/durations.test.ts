import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./durations";

describe("parseDuration", () => {
  it.each([
    ["2 days", "P2D"],
    ["3h", "PT3H"],
    ["1 week 2 days", "P9D"],
    ["90 minutes", "PT1H30M"],
    ["P2D", "P2D"],
    ["pt2h", "PT2H"],
    ["P2W", "P14D"],
    ["1 day, 12 hours", "P1DT12H"],
    ["1 hour and 30 mins", "PT1H30M"],
    ["an hour", "PT1H"],
    ["1w2d", "P9D"],
    ["45s", "PT45S"],
    ["1.5 hours", "PT1H30M"],
    ["0 minutes", "PT0S"],
  ])("reads %j as %s", (typed, iso) => {
    expect(parseDuration(typed)).toEqual({ iso });
  });

  it("reads offsets before a moment only where negatives are allowed", () => {
    expect(parseDuration("-3 days", { allowNegative: true })).toEqual({ iso: "-P3D" });
    expect(parseDuration("3 days before", { allowNegative: true })).toEqual({ iso: "-P3D" });
    expect(parseDuration("2 hours after", { allowNegative: true })).toEqual({ iso: "PT2H" });
    expect(parseDuration("-P3D", { allowNegative: true })).toEqual({ iso: "-P3D" });
    expect(parseDuration("3 days before")).toEqual({ problem: expect.stringContaining("cannot be negative") });
  });

  it.each([
    ["", "Type a duration"],
    ["soon", "is not a duration"],
    ["2 fortnights", "“fortnights” is not a unit"],
    ["1 month", "Months and years"],
    ["P1M", "Months and years"],
    ["P1Y2D", "Months and years"],
    ["P", "is not a duration"],
    ["PT", "is not a duration"],
    ["2 days later maybe", "is not a duration"],
    ["days", "is not a duration"],
  ])("explains why %j is not a duration", (typed, words) => {
    const parsed = parseDuration(typed);
    expect("problem" in parsed && parsed.problem).toContain(words);
  });
});

describe("formatDuration", () => {
  it.each([
    ["P2D", "2 days"],
    ["PT1H", "1 hour"],
    ["P1DT12H", "1 day 12 hours"],
    ["PT1H30M", "1 hour 30 minutes"],
    ["P14D", "2 weeks"],
    ["P2W", "2 weeks"],
    ["-P3D", "3 days before"],
    ["PT0S", "0 minutes"],
    ["PT45S", "45 seconds"],
  ])("says %s as %j", (iso, words) => {
    expect(formatDuration(iso)).toBe(words);
  });

  it("shows text that is not a duration as it is", () => {
    expect(formatDuration("P1M")).toBe("P1M");
  });

  it("reads back what it writes", () => {
    for (const iso of ["P2D", "PT3H", "P9D", "P1DT2H3M4S", "-P3D"]) {
      expect(parseDuration(formatDuration(iso), { allowNegative: true })).toEqual({ iso });
    }
  });
});
