// The test-mode form (a contact, a start, a script of events, an end) and the simulate request it makes
// (CONTRACT §8). Every problem is said per field, with the same keys the API uses in its 400 details.
import type { Contact, NodeTypeInfo, SimulationRequest, TimeZone } from "../api/types";
import { parseDuration } from "../time/durations";

export interface KeyValue {
  key: string;
  value: string;
}

export interface ContactDraft {
  email: string;
  first_name: string;
  timezone: string;
  status: "subscribed" | "unsubscribed" | "bounced" | "complained";
  tags: string; // comma separated, as typed
  fields: KeyValue[];
}

export type EventTiming = { kind: "after"; text: string } | { kind: "at"; local: string };

export interface ScriptEvent {
  id: string;
  timing: EventTiming;
  type: string;
  properties: KeyValue[];
}

export interface TestScript {
  version: string; // "draft" or a published version number
  contact: ContactDraft;
  start: string; // a datetime-local value, in the browser's time zone
  events: ScriptEvent[];
  until: string; // a typed duration
}

export type FieldProblems = Record<string, string>;

export type BuiltRequest = { ok: true; request: SimulationRequest } | { ok: false; problems: FieldProblems };

export const EMPTY_CONTACT: ContactDraft = {
  email: "ada@example.com",
  first_name: "Ada",
  timezone: "",
  status: "subscribed",
  tags: "",
  fields: [],
};

let nextId = 0;
export function newEventId(): string {
  nextId += 1;
  return `event-${nextId}`;
}

/** A preset of the script: a name people recognise, and the event it adds. */
export interface EventPreset {
  label: string;
  event: Omit<ScriptEvent, "id">;
}

// The events test mode offers at one click. They are events of the CONTRACT §3 catalogue (and one custom event),
// not node types: which types the workflow listens to comes from /node-types and the graph (eventTypesFor).
export const EVENT_PRESETS: EventPreset[] = [
  { label: "Opens the email", event: { timing: { kind: "after", text: "1 hour" }, type: "email.opened", properties: [] } },
  {
    label: "Clicks /pricing",
    event: {
      timing: { kind: "after", text: "2 hours" },
      type: "email.clicked",
      properties: [{ key: "url", value: "https://example.com/pricing" }],
    },
  },
  { label: "Replies", event: { timing: { kind: "after", text: "1 day" }, type: "email.replied", properties: [] } },
  {
    label: "Purchases after 2 days",
    event: {
      timing: { kind: "after", text: "2 days" },
      type: "custom.purchased",
      properties: [{ key: "amount", value: "49" }],
    },
  },
];

export function presetEvent(preset: EventPreset): ScriptEvent {
  return {
    ...preset.event,
    id: newEventId(),
    properties: preset.event.properties.map((pair) => ({ ...pair })),
  };
}

/**
 * The event types to offer: every `examples` list of an `event` property in the node types' schemas (the
 * catalogue), plus the types the graph itself names in an `event` setting (custom events), without repeats.
 */
export function eventTypesFor(
  nodeTypes: readonly NodeTypeInfo[],
  configs: readonly Record<string, unknown>[],
): string[] {
  const found = new Set<string>();
  for (const config of configs) {
    if (typeof config.event === "string" && config.event) found.add(config.event);
  }
  for (const info of nodeTypes) {
    const properties = (info.config_schema.properties ?? {}) as Record<string, { examples?: unknown }>;
    const examples = properties.event?.examples;
    if (Array.isArray(examples)) examples.forEach((example) => typeof example === "string" && found.add(example));
  }
  return [...found];
}

export function moveEvent(events: readonly ScriptEvent[], id: string, by: -1 | 1): ScriptEvent[] {
  const index = events.findIndex((event) => event.id === id);
  const target = index + by;
  if (index < 0 || target < 0 || target >= events.length) return [...events];
  const moved = [...events];
  [moved[index], moved[target]] = [moved[target]!, moved[index]!];
  return moved;
}

/** A typed value as JSON when it reads as JSON (49, true, ["a"]), else the text itself. */
export function typedValue(text: string): unknown {
  const trimmed = text.trim();
  if (/^(-?\d+(\.\d+)?|true|false|null|\[.*\]|\{.*\})$/s.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

function pairsToObject(pairs: readonly KeyValue[], path: string, problems: FieldProblems): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  pairs.forEach((pair, index) => {
    const key = pair.key.trim();
    if (!key && !pair.value.trim()) return;
    if (!key) problems[`${path}[${index}]`] = "Give this value a name.";
    else if (key in result) problems[`${path}[${index}]`] = `“${key}” is given twice.`;
    else result[key] = typedValue(pair.value);
  });
  return result;
}

/** The contact a stored one is: its attributes become the description (the simulation runs on them). */
export function draftOfContact(contact: Contact): ContactDraft {
  return {
    email: contact.email,
    first_name: contact.first_name ?? "",
    timezone: contact.timezone ?? "",
    status: contact.status ?? "subscribed",
    tags: (contact.tags ?? []).join(", "),
    fields: Object.entries(contact.fields ?? {}).map(([key, value]) => ({
      key,
      value: typeof value === "string" ? value : JSON.stringify(value),
    })),
  };
}

/** A datetime-local value ("2026-11-23T08:00") as an ISO timestamp with a zone, or null when it is not one. */
export function localToIso(local: string): string | null {
  if (!local) return null;
  const time = new Date(local);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}

/** Now, to the minute, as a datetime-local value. */
export function localNow(now: Date = new Date()): string {
  const shifted = new Date(now.getTime() - now.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

/** Build the simulate request, or say what is wrong with each field. */
export function buildRequest(script: TestScript): BuiltRequest {
  const problems: FieldProblems = {};
  const contact = script.contact;
  const email = contact.email.trim();
  if (!email) problems["contact.email"] = "Give the contact an email address.";
  const start = localToIso(script.start);
  if (!start) problems.start = "Give the moment the test starts.";
  const until = parseDuration(script.until);
  if ("problem" in until) problems.until = until.problem;

  const events = script.events.map((event, index) => {
    const path = `events[${index}]`;
    const type = event.type.trim();
    if (!/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(type)) {
      problems[`${path}.type`] = "Give an event type such as email.opened or custom.purchased.";
    }
    const properties = pairsToObject(event.properties, `${path}.properties`, problems);
    if (event.timing.kind === "at") {
      const at = localToIso(event.timing.local);
      if (!at) problems[`${path}.at`] = "Give the moment this event happens.";
      return { type, at: at ?? "", properties };
    }
    const after = parseDuration(event.timing.text);
    if ("problem" in after) problems[`${path}.after`] = after.problem;
    return { type, after: "iso" in after ? after.iso : "", properties };
  });

  const fields = pairsToObject(contact.fields, "contact.fields", problems);
  if (Object.keys(problems).length > 0) return { ok: false, problems };
  const tags = contact.tags.split(",").map((tag) => tag.trim()).filter(Boolean);
  return {
    ok: true,
    request: {
      version: script.version,
      contact: {
        email,
        ...(contact.first_name.trim() ? { first_name: contact.first_name.trim() } : {}),
        // The server checks the name against the IANA list and says so beside the field when it is not one.
        ...(contact.timezone.trim() ? { timezone: contact.timezone.trim() as TimeZone } : {}),
        status: contact.status,
        tags,
        fields,
      },
      start: start!,
      events,
      until: "iso" in until ? until.iso : "P60D",
      seed: 0,
    },
  };
}

/**
 * The API's 400 details (paths such as `events.1.after`, `events[1].at`, `contact.timezone` or nested objects)
 * flattened to the form's keys (`events[1].after`), so each message shows beside its field.
 */
export function problemsFromDetails(details: Record<string, unknown>): FieldProblems {
  const problems: FieldProblems = {};
  const visit = (value: unknown, path: string) => {
    if (typeof value === "string") problems[normalisePath(path)] = value;
    else if (Array.isArray(value)) {
      if (value.every((item) => typeof item === "string")) problems[normalisePath(path)] = value.join(" ");
      else value.forEach((item, index) => visit(item, `${path}[${index}]`));
    } else if (typeof value === "object" && value !== null) {
      for (const [key, inner] of Object.entries(value)) visit(inner, path ? `${path}.${key}` : key);
    }
  };
  visit(details, "");
  return problems;
}

function normalisePath(path: string): string {
  // "events.1.after" and "events.1" (DRF's list errors) read as "events[1].after".
  return path.replace(/\.(\d+)(?=\.|$)/g, "[$1]");
}
