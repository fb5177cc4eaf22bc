// A step's settings in one line for its card, from its config and its type's JSON Schema: nothing per node type.
import type { JsonSchema } from "../api/types";
import { collectionOf, constantLabel, referenceLabel, referenceShape, type Collection } from "../panel/references";

const MAX_LENGTH = 90;

type Property = { title?: unknown; "x-reference"?: unknown } & Record<string, unknown>;

/** What a referenced object is called on the card: its name, "deleted email template", or null while unknown. */
export type ReferenceName = (collection: Collection, value: string) => string | null;

/** A property naming objects of the workspace (`x-reference`), and the ids it holds in a config. */
export interface ReferenceValue {
  collection: Collection;
  values: string[];
  constants: string[];
}

/** The top-level references in a config, by key (nested ones are summed up as an object, not named). */
export function referencesIn(config: Record<string, unknown>, schema: JsonSchema | undefined): Map<string, ReferenceValue> {
  const properties = (schema?.properties ?? {}) as Record<string, Property | undefined>;
  const found = new Map<string, ReferenceValue>();
  for (const [key, property] of Object.entries(properties)) {
    const collection = collectionOf(property?.["x-reference"]);
    if (!collection || !property) continue;
    const { constants } = referenceShape(property);
    const raw = config[key];
    const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === "string" && value !== "");
    found.set(key, { collection, values, constants });
  }
  return found;
}

/**
 * `Title: value · Title: value`, in the schema's order, leaving out what is not set; "" when nothing is. A
 * reference is said by the names `nameOf` gives (the side panel's lookups), never as a raw id.
 */
export function configSummary(config: Record<string, unknown>, schema: JsonSchema | undefined,
                              nameOf?: ReferenceName): string {
  const properties = (schema?.properties ?? {}) as Record<string, Property | undefined>;
  const references = referencesIn(config, schema);
  const keys = [...Object.keys(properties), ...Object.keys(config).filter((key) => !(key in properties))];
  const parts = keys.flatMap((key) => {
    const reference = references.get(key);
    const value = reference ? named(reference, nameOf) : shown(config[key]);
    if (value === "") return [];
    const title = properties[key]?.title;
    const label = typeof title === "string" && title ? title : key;
    return [`${reference ? referenceLabel(label) : label}: ${value}`];
  });
  return shortened(parts.join(" · "));
}

function named({ collection, values, constants }: ReferenceValue, nameOf: ReferenceName | undefined): string {
  return values
    .map((value) => (constants.includes(value) ? constantLabel(value) : nameOf?.(collection, value) ?? unread(collection)))
    .join(", ");
}

/** Said while the object's name is being read: what it is, not its id. */
function unread(collection: Collection): string {
  return `${/^[aeiou]/i.test(collection.noun) ? "an" : "a"} ${collection.noun}`;
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
