import { describe, expect, it } from "vitest";
import { defaultWindow, windowProblems } from "./windows";

const ZONES = ["UTC", "Europe/Paris"];

describe("windowProblems", () => {
  it("accepts the default window and a named zone", () => {
    expect(windowProblems(defaultWindow(), ZONES)).toEqual([]);
    expect(windowProblems({ ...defaultWindow(), timezone: "Europe/Paris" }, ZONES)).toEqual([]);
  });

  it("says what is wrong in words", () => {
    const wrong = { ...defaultWindow(), days: [], start: "18:00", end: "09:00", timezone: "Mars/Base" };
    expect(windowProblems(wrong, ZONES)).toEqual([
      "Tick at least one day, or switch the window off.",
      "The window must end later the same day than it starts (windows across midnight are not supported).",
      "“Mars/Base” is not a time zone: pick one from the list, e.g. Europe/Paris.",
    ]);
    expect(windowProblems({ ...defaultWindow(), start: "" }, ZONES)).toEqual([
      "Give both times as hours and minutes, e.g. 09:00.",
    ]);
  });
});
