import { describe, expect, it } from "vitest";
import { parseJsonText, uiSchemaFor, withoutNullOptions } from "./schemaUi";

describe("uiSchemaFor", () => {
  it("edits free JSON properties (rules, untyped objects) as JSON text and leaves the rest to the form", () => {
    const schema = {
      type: "object",
      properties: {
        rule: { type: ["object", "boolean"] },
        filter: { anyOf: [{ type: ["object", "boolean"] }, { type: "null" }] },
        headers: { type: "object" },
        window: { anyOf: [{ $ref: "#/$defs/Window" }, { type: "null" }] },
        event: { type: "string" },
      },
    };
    expect(uiSchemaFor(schema)).toEqual({
      rule: { "ui:field": "json" },
      filter: { "ui:field": "json" },
      headers: { "ui:field": "json" },
    });
  });
});

describe("parseJsonText", () => {
  it("parses JSON, treats blank as no value and explains a mistake", () => {
    expect(parseJsonText('{"==": [1, 1]}')).toEqual({ value: { "==": [1, 1] } });
    expect(parseJsonText("  ")).toEqual({ value: undefined });
    expect("problem" in parseJsonText("{oops")).toBe(true);
  });
});

describe("withoutNullOptions", () => {
  it("shows an optional field as itself, dropping the null default, in $defs too", () => {
    const schema = {
      $defs: { Window: { properties: { tz: { anyOf: [{ type: "string" }, { type: "null" }], default: null } } } },
      properties: {
        from_email: { anyOf: [{ format: "email", type: "string" }, { type: "null" }], default: null, title: "From" },
        window: { anyOf: [{ $ref: "#/$defs/Window" }, { type: "null" }], default: null },
        either: { anyOf: [{ type: "string" }, { type: "number" }] },
      },
    };
    expect(withoutNullOptions(schema)).toEqual({
      $defs: { Window: { properties: { tz: { type: "string" } } } },
      properties: {
        from_email: { format: "email", type: "string", title: "From" },
        window: { $ref: "#/$defs/Window" },
        either: { anyOf: [{ type: "string" }, { type: "number" }] },
      },
    });
  });
});
