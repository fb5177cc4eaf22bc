import { describe, expect, it } from "vitest";
import {
  annotationUi,
  containsLiquid,
  needsPreviewContact,
  parseJsonText,
  resolveRef,
  uiSchemaFor,
  withoutNullOptions,
  withoutUntouchedDefaults,
  withPlainDefaults,
  X_WIDGET_UI,
} from "./schemaUi";

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

describe("annotations choose the editor", () => {
  const WINDOW = { type: "object", "x-widget": "window", properties: { start: { type: "string" } } };

  it("maps each annotation to its field or widget, in any node type's schema", () => {
    const schema = {
      $defs: {
        Window: WINDOW,
        Audience: { type: "object", properties: { segment_id: { type: "string", "x-reference": "segments" } } },
      },
      properties: {
        template_id: { type: "string", "x-reference": "templates" },
        to: { anyOf: [{ type: "array", items: { type: "string" } }, { const: "workspace_admins" }], "x-reference": "members" },
        window: { $ref: "#/$defs/Window" },
        duration: { type: "string", format: "duration" },
        subject: { type: "string", "x-liquid": true },
        body: { "x-liquid": true },
        audience: { $ref: "#/$defs/Audience" },
        at_time: { type: "string", pattern: "^..:..$" },
      },
    };
    expect(uiSchemaFor(schema)).toEqual({
      template_id: { "ui:field": "reference", "ui:fieldReplacesAnyOrOneOf": true },
      to: { "ui:field": "reference", "ui:fieldReplacesAnyOrOneOf": true },
      window: { "ui:field": "window" },
      duration: { "ui:widget": "duration" },
      subject: { "ui:widget": "liquid" },
      body: { "ui:field": "json" },
      audience: { segment_id: { "ui:field": "reference", "ui:fieldReplacesAnyOrOneOf": true } },
    });
  });

  it("walks lists of objects", () => {
    const schema = {
      properties: {
        cases: { type: "array", items: { type: "object", properties: { rule: { type: ["object", "boolean"] } } } },
        tags: { type: "array", items: { type: "string" } },
      },
    };
    expect(uiSchemaFor(schema)).toEqual({ cases: { items: { rule: { "ui:field": "json" } } } });
  });

  it("lets an x-widget editor be added by one entry in the map", () => {
    expect(annotationUi({ type: ["object", "boolean"], "x-widget": "colour" })).toEqual({ "ui:field": "json" });
    X_WIDGET_UI.colour = { "ui:field": "colour" };
    try {
      expect(annotationUi({ type: ["object", "boolean"], "x-widget": "colour" })).toEqual({ "ui:field": "colour" });
    } finally {
      delete X_WIDGET_UI.colour;
    }
    expect(annotationUi({ type: ["object", "boolean"], "x-widget": "rule" })).toEqual({ "ui:field": "rule" });
  });

  it("resolves a $ref into the root's $defs, keeping the referring keywords", () => {
    const root = { $defs: { Window: WINDOW } };
    expect(resolveRef({ $ref: "#/$defs/Window", title: "Window" }, root)).toEqual({ ...WINDOW, title: "Window" });
    expect(resolveRef({ $ref: "#/$defs/Nope" }, root)).toEqual({ $ref: "#/$defs/Nope" });
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

describe("previews", () => {
  it("finds Liquid in a text or in any text of a JSON value", () => {
    expect(containsLiquid("Hi {{ contact.first_name }}")).toBe(true);
    expect(containsLiquid("{% if x %}y{% endif %}")).toBe(true);
    expect(containsLiquid("Hi there")).toBe(false);
    expect(containsLiquid({ a: [1, "{{ contact.email }}"] })).toBe(true);
    expect(containsLiquid({ a: 1 })).toBe(false);
  });

  it("asks for a preview contact where a form has Liquid or an email template to show", () => {
    expect(needsPreviewContact({ properties: { subject: { type: "string", "x-liquid": true } } })).toBe(true);
    expect(needsPreviewContact({ properties: { template_id: { type: "string", "x-reference": "templates" } } })).toBe(true);
    expect(needsPreviewContact({ properties: { campaign_id: { type: "string", "x-reference": "campaigns" } } })).toBe(false);
  });
});

describe("withPlainDefaults", () => {
  it("shows the server's plain defaults for what the config leaves out, and nothing for objects", () => {
    const schema = {
      properties: {
        method: { enum: ["GET", "POST"], default: "POST" },
        timeout_s: { type: "integer", default: 10 },
        track: { type: "boolean", default: false },
        window: { $ref: "#/$defs/Window" },
        headers: { type: "object", default: {} },
        url: { type: "string" },
      },
    };
    expect(withPlainDefaults(schema, { method: "GET", url: "https://x.test" })).toEqual({
      method: "GET", url: "https://x.test", timeout_s: 10, track: false,
    });
  });
});

describe("withoutUntouchedDefaults", () => {
  const schema = {
    properties: {
      template_id: { type: "string" },
      track_opens: { type: "boolean", default: true },
      track_clicks: { type: "boolean", default: true },
    },
  };

  it("writes only the fields the user set, not the defaults the form showed", () => {
    const shown = withPlainDefaults(schema, {});
    expect(withoutUntouchedDefaults(schema, {}, { ...shown, template_id: "t1" })).toEqual({ template_id: "t1" });
  });

  it("keeps a default the config already held, and a default changed by the user", () => {
    const config = { template_id: "t1", track_opens: true };
    expect(withoutUntouchedDefaults(schema, config, { ...config, track_clicks: false })).toEqual({
      template_id: "t1", track_opens: true, track_clicks: false,
    });
  });
});
