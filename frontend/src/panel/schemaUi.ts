import type { JsonSchema } from "../api/types";
import { mergeUi, ruleUiSchema } from "../conditions/ruleUi";

/**
 * Build the form's uiSchema from a config schema alone: a property that holds free JSON (a JsonLogic rule, an
 * object with no declared properties, a value of several types) is edited as JSON text, since no generated
 * widget fits it. Nothing here is written per node type.
 */
export function uiSchemaFor(schema: JsonSchema): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const ui: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (holdsFreeJson(property)) ui[name] = { "ui:field": "json" };
  }
  // Rules (x-widget: "rule", at any depth) get the condition builder instead of JSON text.
  return mergeUi(ui, ruleUiSchema(schema));
}

export function holdsFreeJson(property: JsonSchema): boolean {
  const type = property.type;
  if (Array.isArray(type)) return type.length > 1;
  if (type === "object") return !property.properties && !property.$ref;
  const options = (property.anyOf ?? property.oneOf) as JsonSchema[] | undefined;
  if (options) return options.filter((option) => option.type !== "null").some(holdsFreeJson);
  return false;
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
