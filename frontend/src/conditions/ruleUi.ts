import type { JsonSchema } from "../api/types";

// The server marks every JsonLogic rule property with `x-widget: "rule"` (workflows/engine/types.py `Rule`),
// wherever it sits: at the top of a config, in an object (a schedule's audience), in array items (a switch's
// cases), behind $ref and optional (anyOf null) wrappers. This finds them all from the schema alone.

const MAX_DEPTH = 8; // $defs may refer to themselves; forms are never this deep

export function isRuleSchema(schema: JsonSchema): boolean {
  if (schema["x-widget"] === "rule") return true;
  const options = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(options) && options.some((option) => option["x-widget"] === "rule");
}

function resolve(root: JsonSchema, schema: JsonSchema): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return schema;
  let found: unknown = root;
  for (const part of ref.slice(2).split("/")) found = (found as Record<string, unknown> | undefined)?.[part];
  return typeof found === "object" && found !== null ? (found as JsonSchema) : schema;
}

function nonNull(schema: JsonSchema): JsonSchema {
  const options = schema.anyOf as JsonSchema[] | undefined;
  const kept = Array.isArray(options) ? options.filter((option) => option.type !== "null") : [];
  return kept.length === 1 ? (kept[0] as JsonSchema) : schema;
}

/** The uiSchema that puts the condition builder on every rule property of `schema`; {} when it has none. */
export function ruleUiSchema(schema: JsonSchema, root: JsonSchema = schema, depth = 0): Record<string, unknown> {
  if (depth > MAX_DEPTH) return {};
  const node = resolve(root, nonNull(resolve(root, schema)));
  const ui: Record<string, unknown> = {};
  const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, property] of Object.entries(properties)) {
    const inner = ruleUiSchema(property, root, depth + 1);
    if (isRuleSchema(property) || isRuleSchema(resolve(root, property))) ui[name] = { "ui:field": "rule" };
    else if (Object.keys(inner).length) ui[name] = inner;
  }
  if (typeof node.items === "object" && node.items !== null) {
    const items = ruleUiSchema(node.items as JsonSchema, root, depth + 1);
    if (Object.keys(items).length) ui.items = items;
  }
  return ui;
}

/** Merge `extra` into `ui` (nested objects merged, `extra` wins on a clash): other widgets' entries are kept. */
export function mergeUi(ui: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...ui };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    const bothObjects = [current, value].every((item) => typeof item === "object" && item !== null && !Array.isArray(item));
    merged[key] = bothObjects ? mergeUi(current as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return merged;
}
