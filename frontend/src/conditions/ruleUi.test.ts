import { describe, expect, it } from "vitest";
import { uiSchemaFor, withoutNullOptions } from "../panel/schemaUi";
import { mergeUi, ruleUiSchema } from "./ruleUi";
import { fitRow } from "./rows";

const RULE = { type: ["object", "boolean"], "x-widget": "rule", title: "Rule" };

describe("ruleUiSchema", () => {
  it("finds rules at the top, behind optional wrappers, in objects and in array items via $ref", () => {
    const schema = {
      $defs: { Case: { properties: { id: { type: "string" }, rule: RULE } } },
      properties: {
        rule: RULE,
        filter: { anyOf: [RULE, { type: "null" }], default: null },
        audience: { properties: { segment_id: { type: "string" }, rule: { anyOf: [RULE, { type: "null" }] } } },
        cases: { type: "array", items: { $ref: "#/$defs/Case" } },
        event: { type: "string" },
      },
    };
    const expected = {
      rule: { "ui:field": "rule" },
      filter: { "ui:field": "rule" },
      audience: { rule: { "ui:field": "rule" } },
      cases: { items: { rule: { "ui:field": "rule" } } },
    };
    expect(ruleUiSchema(schema)).toEqual(expected);
    // The panel's form: the rule builder replaces the JSON text field, other entries are kept.
    const ui = uiSchemaFor(withoutNullOptions({ ...schema, properties: { ...schema.properties, headers: { type: "object" } } }));
    expect(ui).toEqual({ ...expected, headers: { "ui:field": "json" } });
  });

  it("merges without dropping other widgets' nested entries", () => {
    expect(mergeUi({ a: { x: 1 }, b: 2 }, { a: { y: 3 } })).toEqual({ a: { x: 1, y: 3 }, b: 2 });
  });
});

describe("fitRow", () => {
  it("gives a row an operator and a value that fit its field after a change", () => {
    expect(fitRow({ field: "$email_event", operator: "==", value: "" })).toEqual({
      field: "$email_event", operator: "happened", value: { event: "opened" },
    });
    expect(fitRow({ field: "contact.status", operator: "one_of", value: "x" }).value).toEqual([]);
    expect(fitRow({ field: "days_since:contact.fields.x", operator: "contains", value: "" })).toMatchObject({ operator: ">", value: 0 });
    const kept = { field: "contact.email", operator: "==", value: "a@b.c" };
    expect(fitRow(kept)).toBe(kept);
  });
});
