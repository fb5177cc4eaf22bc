// A simulation step said in words, from what the engine put in its `detail`. The sentences follow the detail's
// keys (a decision's value, the case matched, the variant drawn, what a wait waits for and until when), not a
// list of node types: a new node type that records the same kind of detail reads the same way.
import type { SimulationStep } from "../api/types";
import { formatDuration, spanInWords } from "../time/durations";
import type { Visit } from "./highlight";
import { momentText } from "./highlight";

type Detail = Record<string, unknown>;

function detailOf(step: SimulationStep): Detail {
  return typeof step.detail === "object" && step.detail !== null && !Array.isArray(step.detail)
    ? (step.detail as Detail)
    : {};
}

function shown(value: unknown): string {
  if (typeof value === "string") return `“${value}”`;
  return JSON.stringify(value);
}

/** What a rule of the node's config reads, compactly (for a decision's sentence). */
export function ruleText(config: Record<string, unknown> | undefined): string | null {
  const rule = config?.rule;
  if (rule === undefined) return null;
  const text = JSON.stringify(rule);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/** The sentences of one visit: what was decided or awaited, and why. */
export function describeVisit(visit: Visit, config?: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const step of visit.steps) {
    const detail = detailOf(step);
    lines.push(...describeStep(step, detail, config));
  }
  return lines;
}

function describeStep(step: SimulationStep, detail: Detail, config?: Record<string, unknown>): string[] {
  if (step.outcome === "wait") return [describeWait(step, detail)];
  if (step.outcome === "fail") {
    const reason = step.error?.message ?? detail.reason;
    return [`Failed: ${typeof reason === "string" ? reason : "the step could not run"}.`];
  }
  if (step.outcome === "exit") {
    return [`Ended the run as exited${typeof detail.reason === "string" && detail.reason ? `: ${detail.reason}` : ""}.`];
  }
  if ("trigger" in detail) {
    return [detail.event ? `Entered on the event ${String(detail.event)}.` : "Entered by hand (no trigger heard an event of the script)."];
  }
  if ("result" in detail) {
    const rule = ruleText(config);
    return [
      `The rule ${detail.result ? "held" : "did not hold"} (its value: ${shown(detail.value)})` +
        `${rule ? ` for ${rule}` : ""}: took “${step.branch}”.`,
      ...seenText(detail),
    ];
  }
  if ("checked" in detail) {
    const checked = Array.isArray(detail.checked) ? detail.checked.map(String).join(", ") : "";
    return [
      detail.case
        ? `Case “${String(detail.case)}” matched (checked ${checked}): took “${step.branch}”.`
        : `No case matched (checked ${checked}): took “default”.`,
      ...seenText(detail),
    ];
  }
  if ("variant" in detail) {
    return [`Drew variant “${String(detail.variant)}” (this contact's draw: ${shown(detail.bucket)}, fixed per contact).`];
  }
  if ("occurred_at" in detail) {
    return [`${String(detail.event)} arrived at ${momentText(String(detail.occurred_at))}: took “${step.branch}”.`];
  }
  if ("timeout_at" in detail && step.branch === "timeout") {
    return [
      `No awaited event by ${momentText(String(detail.timeout_at))}: took “timeout”` +
        `${detail.late_event ? " (the event came, but too late)" : ""}.`,
    ];
  }
  if ("waited_until" in detail) return [`Waited until ${momentText(String(detail.waited_until))}.`];
  return [];
}

/** The values the rule read (the engine records them as `seen`), as one sentence. */
function seenText(detail: Detail): string[] {
  const seen = detail.seen;
  if (typeof seen !== "object" || seen === null || Array.isArray(seen)) return [];
  const parts = Object.entries(seen as Detail).map(([path, value]) => `${path} was ${value === null ? "empty" : shown(value)}`);
  return parts.length ? [`It read: ${parts.join("; ")}.`] : [];
}

function describeWait(step: SimulationStep, detail: Detail): string {
  const until = typeof detail.until === "string" ? detail.until : typeof detail.timeout_at === "string" ? detail.timeout_at : null;
  const what = typeof detail.event === "string" && "timeout_at" in detail ? `for ${detail.event} ` : "";
  const length = typeof detail.duration === "string" ? formatDuration(detail.duration) : until ? spanInWords(step.at, until) : null;
  const deferred = typeof detail.window_deferred_from === "string" ? " (deferred to the window's next opening)" : "";
  if (!until) return `Waits ${what}with no deadline.`;
  return `Waits ${what}${length ? `${length}, ` : ""}until ${momentText(until)}${deferred}.`;
}

const STATUS_WORDS: Record<string, string> = {
  completed: "Completed: the contact reached the end of the workflow.",
  exited: "Exited: the run was ended before the end of the workflow.",
  waiting: "Still waiting when the test ended: nothing in the script woke it before “until”.",
  failed: "Failed: a step could not run.",
  active: "Still running when the test ended.",
};

/** The run's status said in words, with the reason the server gave. */
export function statusText(status: string, reason: string | null): string {
  const words = STATUS_WORDS[status] ?? `Ended as ${status}.`;
  return reason ? `${words} ${reason}` : words;
}
