import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration, spanInWords } from "./durations";

describe("parseDuration", () => {
  it.each([
    ["2 days", "P2D"],
    ["3h", "PT3H"],
    ["1 week", "P7D"],
    ["90 minutes", "PT1H30M"],
    ["1d 12h", "P1DT12H"],
    ["2 days, 3 hours and 5 minutes", "P2DT3H5M"],
    ["45s", "PT45S"],
    ["1.5 hours", "PT1H30M"],
    ["P3D", "P3D"],
    ["pt2h", "PT2H"],
    ["0 minutes", "PT0S"],
  ])("reads %j as %s", (typed, iso) => {
    expect(parseDuration(typed)).toEqual({ iso });
  });

  it.each([
    ["", "Type a duration"],
    ["soon", "is not a duration"],
    ["2 fortnights", "“fortnights” is not a unit"],
    ["2 days later", "“2 days later” is not a duration"],
    ["days", "is not a duration"],
    ["P", "is not a duration"],
    ["0.5 seconds", "whole seconds"],
  ])("refuses %j in words", (typed, message) => {
    const parsed = parseDuration(typed);
    expect("problem" in parsed && parsed.problem).toContain(message);
  });
});

describe("durations in words", () => {
  it("says an ISO duration and a span in words", () => {
    expect(formatDuration("P2DT3H")).toBe("2 days 3 hours");
    expect(formatDuration("PT1M")).toBe("1 minute");
    expect(formatDuration("not iso")).toBe("not iso");
    expect(spanInWords("2026-11-23T08:00:00Z", "2026-11-26T08:30:00Z")).toBe("3 days 30 minutes");
  });
});
