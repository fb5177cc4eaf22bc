// A step's settings in one line for its card, from its config and its type's JSON Schema: nothing per node type.
import type { JsonSchema } from "../api/types";

const MAX_LENGTH = 90;

/** `Title: value · Title: value`, in the schema's order, leaving out what is not set; "" when nothing is. */
export function configSummary(config: Record<string, unknown>, schema: JsonSchema | undefined): string {
  const properties = (schema?.properties ?? {}) as Record<string, { title?: unknown } | undefined>;
  const keys = [...Object.keys(properties), ...Object.keys(config).filter((key) => !(key in properties))];
  const parts = keys.flatMap((key) => {
    const value = shown(config[key]);
    if (value === "") return [];
    const title = properties[key]?.title;
    return [`${typeof title === "string" && title ? title : key}: ${value}`];
  });
  return shortened(parts.join(" · "));
}

function shown(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value.replace(/\s+/g, " ").trim();
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return "";
    const simple = value.every((item) => typeof item === "string" || typeof item === "number");
    return simple ? value.join(", ") : `${value.length} item${value.length === 1 ? "" : "s"}`;
  }
  if (typeof value === "object") {
    if (Object.keys(value).length === 0) return "";
    const text = JSON.stringify(value);
    return text.length <= 40 ? text : "set";
  }
  return "";
}

function shortened(text: string): string {
  return text.length <= MAX_LENGTH ? text : `${text.slice(0, MAX_LENGTH - 1).trimEnd()}…`;
}
