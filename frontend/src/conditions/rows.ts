// What each builder row may hold: the operators a field offers, their labels, and a value of the right shape.
import type { RuleGroupType, RuleType } from "react-querybuilder";
import { isRuleGroup } from "react-querybuilder";
import {
  COMPARISONS,
  EMAIL_EVENT,
  EVENT_COUNT,
  IN_SEGMENT,
  NUMERIC_MEASURES,
  TEXT_OPERATIONS,
  readField,
} from "./ruleModel";

export const OPERATOR_LABELS: Record<string, string> = {
  "==": "equals",
  "!=": "does not equal",
  "===": "equals exactly (same type)",
  "!==": "is not exactly",
  "<": "is less than",
  "<=": "is at most",
  ">": "is more than",
  ">=": "is at least",
  text_contains: "contains (any case; or list has)",
  regex: "matches the pattern",
  starts_with: "starts with",
  ends_with: "ends with",
  one_of: "is one of",
  includes: "includes (exact case)",
  happened: "happened",
  member: "is a member",
};

// Paths of the data (CONTRACT §7) offered as suggestions; any other path may be typed.
export const FIELD_SUGGESTIONS = [
  "contact.email",
  "contact.first_name",
  "contact.last_name",
  "contact.status",
  "contact.timezone",
  "contact.score",
  "contact.tags",
  "contact.fields.",
  "contact.created_at",
  "event.type",
  "event.occurred_at",
  "event.properties.",
  "enrollment.entered_at",
  "enrollment.steps",
  // Variables written by http_request and lookup steps (their `map`), e.g. enrollment.vars.plan.
  "enrollment.vars.",
  "now",
];
// The event catalogue (CONTRACT §3), offered for event counts; custom types may be typed.
export const EVENT_SUGGESTIONS = [
  "email.sent", "email.delivered", "email.opened", "email.clicked", "email.replied", "email.bounced",
  "email.complained", "email.unsubscribed", "contact.created", "contact.updated", "contact.tagged",
  "contact.untagged", "form.submitted", "page.viewed", "segment.entered", "segment.exited",
  "workflow.enrolled", "workflow.completed", "workflow.exited", "workflow.failed",
  // From the CRM connectors (webhooks or polling): "the contact's deal changed stage in the last 7 days".
  "crm.deal_stage_changed", "crm.contact_updated",
];
const NUMERIC_PATHS = new Set(["contact.score", "enrollment.steps"]);

export function operatorsFor(field: string): string[] {
  const subject = readField(field);
  if ("special" in subject) {
    if (subject.special === EMAIL_EVENT) return ["happened"];
    if (subject.special === IN_SEGMENT) return ["member"];
    return [">=", ">", "==", "<", "<=", "!="];
  }
  if (subject.measure && NUMERIC_MEASURES.includes(subject.measure)) return [">", ">=", "<", "<=", "==", "!="];
  const all = [...COMPARISONS, ...Object.keys(TEXT_OPERATIONS), "one_of", "includes"];
  if (subject.path === "contact.tags") return ["text_contains", "includes", ...all.filter((op) => op !== "text_contains" && op !== "includes")];
  return all;
}

export function isNumeric(field: string): boolean {
  const subject = readField(field);
  if ("special" in subject) return subject.special === EVENT_COUNT;
  return (subject.measure !== null && NUMERIC_MEASURES.includes(subject.measure)) || NUMERIC_PATHS.has(subject.path);
}

export function defaultValue(field: string, operator: string): unknown {
  if (field === EMAIL_EVENT) return { event: "opened" };
  if (field === EVENT_COUNT) return { type: "email.opened", within: "P30D", count: 1 };
  if (field === IN_SEGMENT) return "";
  if (operator === "one_of") return [];
  return isNumeric(field) ? 0 : "";
}

function valueFits(field: string, operator: string, value: unknown): boolean {
  if (field === EMAIL_EVENT) return typeof value === "object" && value !== null && !Array.isArray(value);
  if (field === EVENT_COUNT) return typeof value === "object" && value !== null && "count" in value;
  if (field === IN_SEGMENT) return typeof value === "string";
  if (operator === "one_of") return Array.isArray(value);
  return ["string", "number", "boolean"].includes(typeof value);
}

/** Give a row an operator its field offers and a value of the operator's shape (after a field or operator change). */
export function fitRow(rule: RuleType): RuleType {
  const operators = operatorsFor(rule.field);
  if (!operators.includes(rule.operator)) {
    const operator = operators[0] as string;
    return { ...rule, operator, value: defaultValue(rule.field, operator) };
  }
  if (!valueFits(rule.field, rule.operator, rule.value)) return { ...rule, value: defaultValue(rule.field, rule.operator) };
  return rule;
}

export function fitQuery(group: RuleGroupType): RuleGroupType {
  return {
    ...group,
    rules: group.rules.map((item) => {
      if (typeof item === "string") return item;
      return isRuleGroup(item) ? fitQuery(item as RuleGroupType) : fitRow(item);
    }),
  };
}
