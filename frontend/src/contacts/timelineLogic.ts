// How the contact page says what happened: one line per timeline item, in words a support person can read
// ("Sent “Welcome!” to ada@example.com"), with the raw detail kept one click away.
import type { ContactStatus, TimelineItem } from "./contactQueries";

export const STEP_STATUS_WORDS: Record<string, string> = {
  succeeded: "Done",
  failed: "Failed",
  skipped: "Skipped",
  waiting: "Waiting",
};

export const ENROLLMENT_STATUS_WORDS: Record<string, string> = {
  active: "Running a step",
  waiting: "Waiting",
  completed: "Completed",
  exited: "Exited",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** What the contact's status means for the messages it gets (the status is the contact's consent). */
export const CONTACT_STATUS_WORDS: Record<ContactStatus, { label: string; meaning: string }> = {
  subscribed: { label: "Subscribed", meaning: "Gets the emails its workflows send." },
  unsubscribed: { label: "Unsubscribed", meaning: "Asked to get no more email: sends to it are skipped." },
  bounced: { label: "Bounced", meaning: "Its address bounced: sends to it are skipped." },
  complained: { label: "Complained", meaning: "Marked an email as spam: sends to it are skipped." },
};

export interface Named {
  workflowName: (id: string) => string;
  nodeTypeLabel: (type: string) => string;
}

export const CHANNEL_WORDS: Record<string, string> = { email: "Email", sms: "SMS", push: "Push" };

/** The item's heading: an event's type, or the step's node type in words, with the channel a message went out on
 * when the label does not say it (a Send message step: "Send message · SMS"). */
export function itemTitle(item: TimelineItem, named: Named): string {
  if (item.kind === "event") return item.type;
  const label = named.nodeTypeLabel(item.type);
  const channel = item.channel ? CHANNEL_WORDS[item.channel] : undefined;
  return channel && !label.toLowerCase().includes(channel.toLowerCase()) ? `${label} · ${channel}` : label;
}

/** A Send message step's channels in order: what each did ("SMS skipped (quiet_hours), Email sent"). */
function attemptsSummary(attempts: unknown): string | null {
  if (!Array.isArray(attempts) || attempts.length === 0) return null;
  const said = attempts.map((attempt: Record<string, unknown>) => {
    const channel = text(attempt.channel) ?? "?";
    const name = CHANNEL_WORDS[channel] ?? channel;
    return attempt.result === "sent" ? `${name} sent` : `${name} skipped${text(attempt.reason) ? ` (${text(attempt.reason)})` : ""}`;
  });
  return said.join(", ");
}

const text = (value: unknown): string | null =>
  typeof value === "string" && value ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : null;

function when(value: unknown): string | null {
  const moment = text(value);
  if (!moment) return null;
  const parsed = new Date(moment);
  return Number.isNaN(parsed.getTime()) ? moment : parsed.toLocaleString();
}

/** One sentence about what the step did, from the detail its node type records; null when there is nothing. */
export function stepSummary(detail: Record<string, unknown>): string | null {
  const parts: string[] = [];
  const error = detail.error as { type?: string; message?: string } | null | undefined;
  if (error && (error.message || error.type)) parts.push(`Error${error.type ? ` (${error.type})` : ""}: ${error.message ?? ""}`.trim());
  const subject = text(detail.subject);
  const to = text(detail.to) ?? (Array.isArray(detail.recipients) ? detail.recipients.join(", ") : null);
  if (subject) parts.push(`Sent “${subject}”${to ? ` to ${to}` : ""}`);
  else if (to) parts.push(`Sent to ${to}`);
  if (text(detail.template_id)) {
    // send_email records the outbox's answer: queued, sent, or why it was not sent (suppressed...).
    parts.push(`Email ${text(detail.status) ?? "handed to the outbox"}${text(detail.message_id) ? ` (message ${text(detail.message_id)})` : ""}`);
  }
  const attempts = attemptsSummary(detail.attempts);
  if (attempts) parts.push(attempts);
  if (detail.outside_window === true) parts.push("Outside its sending window");
  if (detail.quiet_hours === true) parts.push("In the contact's quiet hours");
  const reason = text(detail.skipped_reason) ?? text(detail.reason);
  // A failed step's reason repeats its error's message: said once.
  if (reason && !(error?.message && error.message.includes(reason))) parts.push(`Reason: ${reason}`);
  if ("result" in detail && typeof detail.result === "boolean") parts.push(`Condition was ${detail.result ? "true" : "false"}`);
  if (text(detail.case)) parts.push(`Matched case ${text(detail.case)}`);
  if (text(detail.variant)) parts.push(`Variant ${text(detail.variant)}`);
  const until = when(detail.until) ?? when(detail.timeout_at);
  // A step that skipped its message (quiet hours with "skip") went on: its `until` is when it could have gone.
  if (until) parts.push(detail.status === "skipped" ? `Not sent (it could have gone at ${until})` : `Waits until ${until}`);
  const waited = when(detail.waited_until);
  if (waited) parts.push(`Waited until ${waited}`);
  if (text(detail.event)) parts.push(`Event ${text(detail.event)}`);
  if (text(detail.url)) parts.push(`${text(detail.method) ?? "Called"} ${text(detail.url)}${detail.status_code ? ` → ${detail.status_code}` : ""}`);
  const branch = text(detail.branch);
  // "default" is the only exit of most steps: worth saying only when a step chose among several.
  if (branch && branch !== "default" && !detail.case && !detail.variant && !("result" in detail)) parts.push(`Took branch ${branch}`);
  const attempt = typeof detail.attempt === "number" ? detail.attempt : 1;
  if (attempt > 1) parts.push(`Attempt ${attempt}`);
  return parts.length ? parts.join(" · ") : null;
}

/** The event's source and up to three of its properties, as "key: value" (a workflow by its name). */
export function eventSummary(detail: Record<string, unknown>, named?: Named): string | null {
  const parts: string[] = [];
  const source = text(detail.source);
  if (source) parts.push(`From ${source}`);
  const properties = detail.properties;
  if (properties && typeof properties === "object" && !Array.isArray(properties)) {
    const values = properties as Record<string, unknown>;
    // The runtime's workflow.* events name their workflow by id: said by name, first. The execution they name is
    // a link beside the summary, not a raw id in it.
    const workflowId = named ? text(values.workflow_id) : null;
    if (workflowId && named) parts.push(`Workflow: ${named.workflowName(workflowId)}`);
    const rest = Object.entries(values).filter(
      ([key]) => key !== "enrollment_id" && !(workflowId && key === "workflow_id"),
    );
    for (const [key, value] of rest.slice(0, 3)) parts.push(`${key}: ${text(value) ?? JSON.stringify(value)}`);
    if (rest.length > 3) parts.push(`and ${rest.length - 3} more`);
  }
  return parts.length ? parts.join(" · ") : null;
}

export function itemSummary(item: TimelineItem, named?: Named): string | null {
  return item.kind === "event" ? eventSummary(item.detail, named) : stepSummary(item.detail);
}

export function contactName(contact: { email: string; first_name?: string; last_name?: string }): string {
  const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
  return name || contact.email;
}
