import { describe, expect, it } from "vitest";
import type { TimelineItem } from "./contactQueries";
import { contactListPath, cursorOf, timelinePath } from "./contactQueries";
import { contactName, eventSummary, itemTitle, stepSummary } from "./timelineLogic";

const named = { workflowName: (id: string) => `wf ${id}`, nodeTypeLabel: (type: string) => `Label of ${type}` };

describe("timeline words", () => {
  it("names events by type and steps by their node type's label", () => {
    const event = { at: "2026-01-01T00:00:00Z", kind: "event", type: "order.placed", id: "1", detail: {} } as TimelineItem;
    const step = { ...event, kind: "step", type: "send_email" } as TimelineItem;
    expect(itemTitle(event, named)).toBe("order.placed");
    expect(itemTitle(step, named)).toBe("Label of send_email");
  });

  it("names the channel a Send message step went out on, and what each of its channels did", () => {
    const step = { at: "2026-01-01T00:00:00Z", kind: "step", type: "send_message", id: "1", channel: "email", detail: {} } as TimelineItem;
    expect(itemTitle(step, { ...named, nodeTypeLabel: () => "Send message" })).toBe("Send message · Email");
    expect(itemTitle({ ...step, type: "send_sms", channel: "sms" }, { ...named, nodeTypeLabel: () => "Send SMS" })).toBe("Send SMS");
    const attempts = [
      { channel: "sms", result: "skipped", reason: "quiet_hours", until: "2026-01-02T07:00:00Z" },
      { channel: "email", result: "sent", message_id: "m1" },
    ];
    expect(stepSummary({ attempts, channel: "email", attempt: 1 })).toBe("SMS skipped (quiet_hours), Email sent");
    const skipped = stepSummary({ status: "skipped", skipped: "quiet_hours", reason: "quiet_hours", until: "2026-01-02T07:00:00Z" });
    expect(skipped).toMatch(/^Reason: quiet_hours · Not sent \(it could have gone at .+\)$/);
    expect(stepSummary({ quiet_hours: true, reason: "quiet_hours", until: "2026-01-02T07:00:00Z" })).toMatch(
      /^In the contact's quiet hours · Reason: quiet_hours · Waits until /,
    );
  });

  it("says what a step did, error first", () => {
    expect(stepSummary({ error: { type: "NotFound", message: "Campaign gone" }, attempt: 2 })).toBe(
      "Error (NotFound): Campaign gone · Attempt 2",
    );
    expect(stepSummary({ error: { type: "PortError", message: "Campaign x gone (deleted)" }, reason: "Campaign x gone" })).toBe(
      "Error (PortError): Campaign x gone (deleted)",
    );
    expect(stepSummary({ template_id: "t", status: "suppressed", attempt: 1 })).toBe("Email suppressed");
    expect(stepSummary({ value: true, result: false, branch: "no", attempt: 1 })).toBe("Condition was false");
    expect(stepSummary({ branch: "b", attempt: 1 })).toBe("Took branch b");
    expect(stepSummary({ attempt: 1, branch: null, error: null })).toBeNull();
  });

  it("summarises an event's source and first properties", () => {
    expect(eventSummary({ source: "api", properties: { a: 1, b: "x", c: true, d: null } })).toBe(
      "From api · a: 1 · b: x · c: true · and 1 more",
    );
    expect(eventSummary({ properties: {} })).toBeNull();
    expect(eventSummary({ source: "system", properties: { version: 1, workflow_id: "w1", enrollment_id: "e" } }, named)).toBe(
      "From system · Workflow: wf w1 · version: 1",
    );
  });

  it("names a contact by name, else by email", () => {
    expect(contactName({ email: "a@x.io", first_name: "Ada", last_name: "L" })).toBe("Ada L");
    expect(contactName({ email: "a@x.io", first_name: "", last_name: "" })).toBe("a@x.io");
  });
});

describe("paths", () => {
  it("puts only the given filters and the cursor in the timeline's query", () => {
    expect(timelinePath("c1", { kind: "", workflow: "" }, null)).toBe("contacts/c1/timeline?limit=50");
    expect(timelinePath("c1", { kind: "step", workflow: "w" }, "abc")).toBe(
      "contacts/c1/timeline?limit=50&kind=step&workflow=w&cursor=abc",
    );
  });

  it("reads the cursor of a DRF next link and builds the list's query", () => {
    expect(cursorOf("http://host/api/v1/contacts?cursor=cD0y&limit=50")).toBe("cD0y");
    expect(cursorOf(null)).toBeNull();
    expect(contactListPath({ q: " ada ", status: "", tag: "vip" }, null)).toBe("contacts?limit=50&q=ada&tag=vip");
  });
});
