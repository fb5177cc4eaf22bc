// JsonLogic rules (CONTRACT §7) <-> react-querybuilder queries, for the visual condition builder.
//
// react-querybuilder's own JsonLogic mapping is for its own operators (it reads {"in": ["x", var]} as "contains",
// writes NOT as {"!": {"and": [...]}}, drops what it cannot read). Ours are different, so every leaf operation is
// read by `leafRule` (parseJsonLogic's `jsonLogicOperations`) and written by `ruleLogic` (formatQuery's
// `ruleProcessor`); the library keeps and/or/NOT and nesting. A rule is shown visually only when exporting what
// was imported gives it back (modulo `canonical`, which changes no meaning): anything else is refused, never
// silently rewritten.
import type { RuleGroupType, RuleType } from "react-querybuilder";
import { formatQuery } from "react-querybuilder/formatQuery";
import { parseJsonLogic } from "react-querybuilder/parseJsonLogic";

type Json = unknown;
type Logic = Record<string, Json>;
export type Primitive = string | number | boolean;

export const COMPARISONS = ["==", "!=", "===", "!==", "<", "<=", ">", ">="] as const;
// Operator names of the builder -> the JsonLogic operation they write. Names differ from react-querybuilder's
// "contains"/"in", which its NOT handling would turn into "doesNotContain"/"notIn".
export const TEXT_OPERATIONS: Record<string, string> = {
  text_contains: "contains",
  regex: "regex",
  starts_with: "starts_with",
  ends_with: "ends_with",
};
export const MEASURES = ["lower", "upper", "length", "days_since"] as const;
export type Measure = (typeof MEASURES)[number];
export const NUMERIC_MEASURES: readonly Measure[] = ["length", "days_since"];

// Rows that read the contact's history instead of a value of the data: their field is one of these names.
export const EMAIL_EVENT = "$email_event";
export const EVENT_COUNT = "$event_count";
export const IN_SEGMENT = "$in_segment";
export const EMAIL_EVENT_KEYS = ["event", "node", "url_contains", "within"] as const;
export const EMAIL_EVENTS = [
  "sent", "delivered", "opened", "clicked", "replied", "bounced", "complained", "unsubscribed",
] as const;

export interface EventCountValue {
  type: string;
  within?: string;
  count: number | "";
}
export type EmailEventValue = Partial<Record<(typeof EMAIL_EVENT_KEYS)[number], string>>;

/** What a row's field names: a path of the data, perhaps through a measure, or a history operation. */
export type Subject = { path: string; measure: Measure | null } | { special: string };

export function readField(field: string): Subject {
  if (field.startsWith("$")) return { special: field };
  const colon = field.indexOf(":");
  const measure = field.slice(0, colon) as Measure;
  if (colon > 0 && MEASURES.includes(measure)) return { path: field.slice(colon + 1), measure };
  return { path: field, measure: null };
}

export function fieldOf(subject: Subject): string {
  if ("special" in subject) return subject.special;
  return subject.measure ? `${subject.measure}:${subject.path}` : subject.path;
}

// --- canonical form --------------------------------------------------------------------------------------------

// Their one argument is an object of parameters, never a list of rules (sms_event and push_event: CONTRACT §13).
const OBJECT_OPERATIONS = new Set(["email_event", "event_count", "sms_event", "push_event"]);

function isOperation(value: Json): value is Logic {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1;
}

function only(logic: Logic): [string, Json] {
  return Object.entries(logic)[0] as [string, Json];
}

/**
 * Return `rule` in a form with the same meaning everywhere: arguments as lists ({"!": x} is {"!": [x]}, as the
 * server's rule_normalise writes them), a var of one path as the path, and an and/or of one rule as that rule
 * (both return the rule's own value).
 */
export function canonical(rule: Json): Json {
  if (Array.isArray(rule)) return rule.map(canonical);
  if (!isOperation(rule)) return rule;
  const [op, args] = only(rule);
  if (OBJECT_OPERATIONS.has(op)) return rule;
  const listed = (Array.isArray(args) ? args : [args]).map(canonical);
  if (op === "var" && listed.length === 1 && typeof listed[0] === "string") return { var: listed[0] };
  if ((op === "and" || op === "or") && listed.length === 1) return listed[0];
  return { [op]: listed };
}

export function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a as object);
  const keysB = Object.keys(b as object);
  return (
    keysA.length === keysB.length &&
    keysA.every((key) => sameJson((a as Logic)[key], (b as Logic)[key]))
  );
}

// --- reading leaves --------------------------------------------------------------------------------------------

function isPrimitive(value: Json): value is Primitive {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** The data path a builder row can name: non-empty, not taken for a measure or history operation. */
function pathOf(logic: Json): string | null {
  if (!isOperation(logic)) return null;
  const [op, args] = only(logic);
  if (op !== "var" || typeof args !== "string" || !args || args.startsWith("$") || args.includes(":")) return null;
  return args;
}

function subjectOf(logic: Json): Subject | null {
  const path = pathOf(logic);
  if (path !== null) return { path, measure: null };
  if (!isOperation(logic)) return null;
  const [op, args] = only(logic);
  if (!MEASURES.includes(op as Measure) || !Array.isArray(args) || args.length !== 1) return null;
  const inner = pathOf(args[0]);
  return inner === null ? null : { path: inner, measure: op as Measure };
}

function eventCountOf(logic: Json): Omit<EventCountValue, "count"> | null {
  if (!isOperation(logic)) return null;
  const [op, args] = only(logic);
  if (op !== "event_count" || typeof args !== "object" || args === null || Array.isArray(args)) return null;
  const { type, within, ...rest } = args as Record<string, Json>;
  if (Object.keys(rest).length || typeof type !== "string" || (within !== undefined && typeof within !== "string")) {
    return null;
  }
  return within === undefined ? { type } : { type, within };
}

function row(subject: Subject, operator: string, value: Json): RuleType {
  return { field: fieldOf(subject), operator, value };
}

/** Read one leaf operation (arguments in canonical form) as a builder row; null when no row shows it. */
export function leafRule(op: string, args: Json): RuleType | null {
  if (op === "email_event") {
    if (typeof args !== "object" || args === null || Array.isArray(args)) return null;
    const entries = Object.entries(args);
    const fits = entries.every(
      ([key, value]) => (EMAIL_EVENT_KEYS as readonly string[]).includes(key) && typeof value === "string",
    );
    return fits ? row({ special: EMAIL_EVENT }, "happened", { ...args }) : null;
  }
  if (!Array.isArray(args)) return null;
  if (op === "in_segment") {
    return args.length === 1 && typeof args[0] === "string" ? row({ special: IN_SEGMENT }, "member", args[0]) : null;
  }
  if (args.length !== 2) return null;
  const [left, right] = args as [Json, Json];
  if ((COMPARISONS as readonly string[]).includes(op)) {
    const counted = eventCountOf(left);
    if (counted) return typeof right === "number" ? row({ special: EVENT_COUNT }, op, { ...counted, count: right }) : null;
    const subject = subjectOf(left);
    return subject && isPrimitive(right) ? row(subject, op, right) : null;
  }
  const textOperator = Object.keys(TEXT_OPERATIONS).find((name) => TEXT_OPERATIONS[name] === op);
  if (textOperator) {
    const subject = subjectOf(left);
    return subject && (typeof right === "string" || typeof right === "number") ? row(subject, textOperator, right) : null;
  }
  if (op === "in") {
    const subject = subjectOf(left);
    if (subject && Array.isArray(right) && right.every((item) => typeof item === "string")) {
      return row(subject, "one_of", right);
    }
    const container = subjectOf(right);
    if (container && typeof left === "string") return row(container, "includes", left);
  }
  return null;
}

// --- writing leaves --------------------------------------------------------------------------------------------

function subjectLogic(subject: { path: string; measure: Measure | null }): Logic {
  const variable = { var: subject.path };
  return subject.measure ? { [subject.measure]: [variable] } : variable;
}

function withoutBlanks(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== "" && item !== undefined));
}

/** Write one builder row as JsonLogic (the inverse of `leafRule`). */
export function ruleLogic(rule: RuleType): Logic {
  const subject = readField(rule.field);
  if ("special" in subject) {
    if (subject.special === EMAIL_EVENT) return { email_event: withoutBlanks(rule.value ?? {}) };
    if (subject.special === IN_SEGMENT) return { in_segment: [rule.value ?? ""] };
    const { count, ...counted } = (rule.value ?? { type: "" }) as EventCountValue;
    return { [rule.operator]: [{ event_count: withoutBlanks({ ...counted }) }, count] };
  }
  const left = subjectLogic(subject);
  if (rule.operator === "one_of") return { in: [left, rule.value] };
  if (rule.operator === "includes") return { in: [rule.value, left] };
  return { [TEXT_OPERATIONS[rule.operator] ?? rule.operator]: [left, rule.value] };
}

// --- whole rules -----------------------------------------------------------------------------------------------

const leafOperations = new Set([
  ...COMPARISONS, ...Object.values(TEXT_OPERATIONS), "in", "email_event", "in_segment",
]);
const jsonLogicOperations = Object.fromEntries(
  [...leafOperations].map((op) => [op, (args: Json) => leafRule(op, args) ?? false]),
);

/** react-querybuilder reads NOT only in the form {"!": x}. */
function forLibrary(rule: Json): Json {
  if (Array.isArray(rule)) return rule.map(forLibrary);
  if (!isOperation(rule)) return rule;
  const [op, args] = only(rule);
  if (op === "!" && Array.isArray(args) && args.length === 1) return { "!": forLibrary(args[0]) };
  if (op === "and" || op === "or") return { [op]: forLibrary(args) };
  return rule;
}

export const EMPTY_QUERY: RuleGroupType = { combinator: "and", rules: [] };

/** Write a builder query as a JsonLogic rule in canonical form; undefined when it holds no condition. */
export function exportQuery(query: RuleGroupType): Json {
  const logic = formatQuery(query, { format: "jsonlogic", ruleProcessor: ruleLogic });
  return logic === false ? undefined : canonical(logic);
}

/** Whether `rule` holds no condition: missing, null, or {} (what the form fills in for a required rule). */
export function isNoRule(rule: Json): boolean {
  if (rule === undefined || rule === null) return true;
  return typeof rule === "object" && !Array.isArray(rule) && Object.keys(rule).length === 0;
}

/** Whether two rules are the same for the editor (any two ways of saying "no rule" are). */
export function sameRule(a: Json, b: Json): boolean {
  return (isNoRule(a) && isNoRule(b)) || sameJson(a, b);
}

export type Imported = { query: RuleGroupType } | { problem: string };

/** Read a rule into the builder, or say why it cannot be shown there (it is then left as it is). */
export function importRule(rule: Json): Imported {
  if (isNoRule(rule)) return { query: EMPTY_QUERY };
  const normal = canonical(rule);
  const problem = unrepresentable(normal);
  if (problem) return { problem };
  let query: RuleGroupType;
  try {
    query = parseJsonLogic(forLibrary(normal) as never, { jsonLogicOperations, generateIDs: true }) as RuleGroupType;
  } catch {
    return { problem: "the visual builder could not read this rule" };
  }
  if (!sameJson(exportQuery(query), normal)) {
    return { problem: "the visual builder would write this rule differently, so it is not shown there" };
  }
  return { query };
}

const ARITHMETIC = new Set(["+", "-", "*", "/", "%", "min", "max"]);

/** Say which part of a canonical rule has no row in the builder; null when every part has one. */
export function unrepresentable(rule: Json): string | null {
  if (!isOperation(rule)) return `the rule is the constant ${short(rule)}, not a condition`;
  const [op, args] = only(rule);
  if (op === "and" || op === "or") {
    if (!Array.isArray(args) || args.length === 0) return `an empty “${op}”`;
    for (const item of args) {
      const problem = unrepresentable(item);
      if (problem) return problem;
    }
    return null;
  }
  if (op === "!") return Array.isArray(args) && args.length === 1 ? unrepresentable(args[0]) : "a “!” of several values";
  if (leafOperations.has(op) && leafRule(op, args)) return null;
  return `${describe(op, args)} (${short(rule)})`;
}

function describe(op: string, args: Json): string {
  if (ARITHMETIC.has(op)) return `arithmetic (“${op}”)`;
  if (op === "var") return Array.isArray(args) && args.length > 1 ? "a “var” with a default value" : "a bare value used as a test";
  if (["if", "?:", "filter", "map", "reduce", "all", "some", "none", "!!"].includes(op)) return `“${op}”`;
  if (leafOperations.has(op)) return nestedCulprit(args) ?? `“${op}” with arguments the builder has no row for`;
  return `the operation “${op}”`;
}

const SUBJECT_OPERATIONS = new Set(["var", "event_count", ...MEASURES]);

/** Name what, inside a leaf's arguments, has no place in a row (arithmetic, a var with a default...). */
function nestedCulprit(args: Json): string | null {
  for (const arg of Array.isArray(args) ? args : []) {
    if (!isOperation(arg)) continue;
    const [op, inner] = only(arg);
    if (op === "var" && Array.isArray(inner) && inner.length > 1) return "a “var” with a default value";
    if (!SUBJECT_OPERATIONS.has(op)) return describe(op, inner);
    const deeper = nestedCulprit(inner);
    if (deeper) return deeper;
  }
  return null;
}

function short(value: Json): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
