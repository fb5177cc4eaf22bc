import { describe, expect, it } from "vitest";
import { smsShapeText } from "./smsShape";

const base = { units: 0, max_segments: 10, max_characters: 1600, too_long: false, non_gsm: [] as string[] };

describe("smsShapeText", () => {
  it("says the encoding, segments and characters of a GSM-7 text", () => {
    expect(smsShapeText({ ...base, encoding: "GSM-7", segments: 1, characters: 42 })).toBe(
      "GSM-7 · 1 segment · 42 characters",
    );
  });

  it("names the characters that force UCS-2", () => {
    const shape = { ...base, encoding: "UCS-2" as const, segments: 2, characters: 71, non_gsm: ["ë", "🎉"] };
    expect(smsShapeText(shape)).toBe("UCS-2 because of “ë”, “🎉” · 2 segments · 71 characters");
  });

  it("says what to do with a text too long to send", () => {
    const shape = { ...base, encoding: "GSM-7" as const, segments: 11, characters: 1600, too_long: true };
    expect(smsShapeText(shape)).toBe(
      "GSM-7 · 11 segments · 1,600 characters: too long to send (at most 10 segments and 1,600 characters); shorten the text.",
    );
  });
});
