import { describe, expect, it } from "vitest";
import { uiSchemaFor, withoutNullOptions } from "../panel/schemaUi";
import { fitRow } from "./rows";

const RULE = { type: ["object", "boolean"], "x-widget": "rule", title: "Rule" };

describe("the panel's uiSchema for rules", () => {
  it("puts the rule builder on rules at the top, behind optional wrappers, in objects and in array items via $ref", () => {
    const schema = {
      $defs: { Case: { type: "object", properties: { id: { type: "string" }, rule: RULE } } },
      properties: {
        rule: RULE,
        filter: { anyOf: [RULE, { type: "null" }], default: null },
        audience: { type: "object", properties: { segment_id: { type: "string" }, rule: { anyOf: [RULE, { type: "null" }] } } },
        cases: { type: "array", items: { $ref: "#/$defs/Case" } },
        event: { type: "string" },
        headers: { type: "object" },
      },
    };
    // The rule builder replaces the JSON text field; other entries are kept.
    expect(uiSchemaFor(withoutNullOptions(schema))).toEqual({
      rule: { "ui:field": "rule" },
      filter: { "ui:field": "rule" },
      audience: { rule: { "ui:field": "rule" } },
      cases: { items: { rule: { "ui:field": "rule" } } },
      headers: { "ui:field": "json" },
    });
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
