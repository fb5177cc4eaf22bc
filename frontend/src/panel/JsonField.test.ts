import { describe, expect, it } from "vitest";
import { sameJson, textOfValue, valueOfText } from "./JsonField";

describe("JSON fields", () => {
  it("edit JSON as text and read it back", () => {
    expect(textOfValue({ "X-Plan": "gold" }, false)).toBe('{\n  "X-Plan": "gold"\n}');
    expect(valueOfText('{"a": 1}', false)).toEqual({ value: { a: 1 } });
    expect("problem" in valueOfText("{oops", false)).toBe(true);
    expect(textOfValue(undefined, false)).toBe("");
  });

  it("take a plain text as itself where Liquid texts are expected", () => {
    expect(valueOfText("Hi {{ contact.first_name }}", true)).toEqual({ value: "Hi {{ contact.first_name }}" });
    expect(valueOfText("5", true)).toEqual({ value: 5 });
    expect(textOfValue("Hi {{ contact.first_name }}", true)).toBe("Hi {{ contact.first_name }}");
    // A text that reads as JSON is shown quoted, so that it stays a text.
    expect(textOfValue("5", true)).toBe('"5"');
  });

  it("compare values, not their spelling", () => {
    expect(sameJson({ a: 1 }, { a: 1 })).toBe(true);
    expect(sameJson(undefined, null)).toBe(true);
    expect(sameJson({ a: 1 }, { a: 2 })).toBe(false);
  });
});
