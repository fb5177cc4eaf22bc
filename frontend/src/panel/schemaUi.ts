import type { JsonSchema } from "../api/types";

export type UiEntry = Record<string, unknown>;

/**
 * How the form edits a value marked with `"x-widget": <name>` by the server: one line per editor, so another
 * editor is added here (and its field registered in SchemaForm's `fields`) without touching the rest.
 */
export const X_WIDGET_UI: Record<string, UiEntry> = {
  window: { "ui:field": "window" },
  // JsonLogic rules (workflows/engine/types.py `Rule`): the condition builder, not JSON text.
  rule: { "ui:field": "rule" },
};

/** The ui:field/ui:widget for one property, read from its annotations and type alone (never its node type). */
export function annotationUi(property: JsonSchema): UiEntry | null {
  const widget = property["x-widget"];
  if (typeof widget === "string" && X_WIDGET_UI[widget]) return X_WIDGET_UI[widget];
  // A picker replaces the choice between a list and "workspace_admins" that the schema's anyOf would show.
  if (typeof property["x-reference"] === "string") {
    return { "ui:field": "reference", "ui:fieldReplacesAnyOrOneOf": true };
  }
  if (property.format === "duration") return { "ui:widget": "duration" };
  if (property["x-liquid"] === true && property.type === "string") return { "ui:widget": "liquid" };
  if (holdsFreeJson(property)) return { "ui:field": "json" };
  return null;
}

/**
 * Build the form's uiSchema from a config schema alone: each property gets the editor its annotations ask for
 * (annotationUi), objects and lists of objects are walked (following `$ref` into the root's `$defs`), and a
 * property that holds free JSON (a JsonLogic rule, an object with no declared properties, a value of several
 * types) is edited as JSON text, since no generated widget fits it. Nothing here is written per node type.
 */
export function uiSchemaFor(schema: JsonSchema, root: JsonSchema = schema): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const ui: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    const entry = uiForProperty(property, root);
    if (entry) ui[name] = entry;
  }
  return ui;
}

function uiForProperty(property: JsonSchema, root: JsonSchema): UiEntry | null {
  const resolved = resolveRef(property, root);
  const own = annotationUi(resolved);
  if (own) return own;
  if (resolved.type === "object" && resolved.properties) {
    const nested = uiSchemaFor(resolved, root);
    return Object.keys(nested).length ? nested : null;
  }
  if (resolved.type === "array" && typeof resolved.items === "object" && resolved.items !== null) {
    const items = uiForProperty(resolved.items as JsonSchema, root);
    return items ? { items } : null;
  }
  return null;
}

/** The schema a `$ref` to the root's `$defs` points at, with the referring schema's own keywords on top. */
export function resolveRef(property: JsonSchema, root: JsonSchema): JsonSchema {
  const ref = property.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return property;
  const target = ((root.$defs ?? {}) as Record<string, JsonSchema>)[ref.slice("#/$defs/".length)];
  if (!target) return property;
  const { $ref: _ref, ...rest } = property;
  return { ...target, ...rest };
}

export function holdsFreeJson(property: JsonSchema): boolean {
  const type = property.type;
  if (Array.isArray(type)) return type.length > 1;
  if (type === "object") return !property.properties && !property.$ref;
  const options = (property.anyOf ?? property.oneOf) as JsonSchema[] | undefined;
  if (options) return options.filter((option) => option.type !== "null").some(holdsFreeJson);
  // No type, no choice, no reference: any JSON value at all (a webhook's body, a field's value).
  return type === undefined && !property.$ref && !property.enum && !("const" in property) && !property.properties;
}

/** Parse JSON typed in a field: the value, or a sentence saying what is wrong. */
export function parseJsonText(text: string): { value: unknown } | { problem: string } {
  if (!text.trim()) return { value: undefined };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { problem: `Not valid JSON yet: ${(error as Error).message}` };
  }
}

/**
 * Turn each optional `anyOf: [X, {type: "null"}]` (how the server's models say "may be left out") into X, so the
 * form shows the field itself instead of a choice between "option 1" and "option 2"; left empty, it is left out
 * of the config and the server's default (null) applies. Applied everywhere in the schema, `$defs` included.
 */
export function withoutNullOptions(schema: JsonSchema): JsonSchema {
  return unwrap(schema) as JsonSchema;
}

function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value !== "object" || value === null) return value;
  const node = value as JsonSchema;
  const options = node.anyOf as JsonSchema[] | undefined;
  if (Array.isArray(options)) {
    const kept = options.filter((option) => option.type !== "null");
    if (kept.length === 1 && kept.length < options.length) {
      const { anyOf: _anyOf, default: fallback, ...rest } = node;
      return unwrap({ ...kept[0], ...rest, ...(fallback !== null && fallback !== undefined && { default: fallback }) });
    }
  }
  return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, unwrap(child)]));
}

/** Whether a value (a text, or a JSON value's texts) holds Liquid to render: `{{ ... }}` or `{% ... %}`. */
export function containsLiquid(value: unknown): boolean {
  if (typeof value === "string") return /\{\{|\{%/.test(value);
  if (Array.isArray(value)) return value.some(containsLiquid);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsLiquid);
  return false;
}

/** Whether a form has anything to preview for a contact: a Liquid text, or an email template to pick. */
export function needsPreviewContact(schema: JsonSchema): boolean {
  const text = JSON.stringify(schema);
  return text.includes('"x-liquid":true') || text.includes('"x-reference":"templates"');
}

/**
 * The config as the form shows it: each top-level property left out that has a plain default (a text, number or
 * true/false) shows that default, as the server will apply it. Without this, a select whose value is left out
 * shows its first option (a webhook's method read "GET" while the server sends POST).
 */
/**
 * The inverse of `withPlainDefaults` for what the form sends back: a default it showed and the user left alone
 * stays out of the config, so an edit of one field writes that field only (a version diff would otherwise list
 * "track opens: (not set) → true", a change that changes nothing).
 */
export function withoutUntouchedDefaults(
  schema: JsonSchema,
  config: Record<string, unknown>,
  next: Record<string, unknown>,
): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const kept = { ...next };
  for (const [name, property] of Object.entries(properties)) {
    if (!(name in config) && name in kept && kept[name] === property.default) delete kept[name];
  }
  return kept;
}

export function withPlainDefaults(schema: JsonSchema, config: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const shown = { ...config };
  for (const [name, property] of Object.entries(properties)) {
    const fallback = property.default;
    const plain = ["string", "number", "boolean"].includes(typeof fallback);
    if (plain && !(name in shown)) shown[name] = fallback;
  }
  return shown;
}
