import { describe, expect, it } from "vitest";
import type { NodeTypeInfo } from "../api/types";
import {
  buildRequest,
  EMPTY_CONTACT,
  EVENT_PRESETS,
  eventTypesFor,
  moveEvent,
  presetEvent,
  problemsFromDetails,
  type ScriptEvent,
  type TestScript,
} from "./script";

function script(overrides: Partial<TestScript> = {}): TestScript {
  return {
    version: "draft",
    contact: { ...EMPTY_CONTACT, timezone: "Europe/Paris", tags: "trial, vip", fields: [{ key: "plan", value: "pro" }] },
    start: "2026-11-23T08:00",
    events: [],
    until: "60 days",
    ...overrides,
  };
}

const event = (id: string, type = "email.opened"): ScriptEvent => ({
  id,
  timing: { kind: "after", text: "1h" },
  type,
  properties: [],
});

describe("buildRequest", () => {
  it("maps the described contact, the start, the scripted events and until to CONTRACT §8's request", () => {
    const clicks = presetEvent(EVENT_PRESETS.find((preset) => preset.label === "Clicks /pricing")!);
    const built = buildRequest(
      script({
        events: [
          { ...event("a"), timing: { kind: "after", text: "2 days" } },
          clicks,
          { id: "c", timing: { kind: "at", local: "2026-11-26T10:00" }, type: "custom.purchased",
            properties: [{ key: "amount", value: "49" }, { key: "sku", value: "PRO-1" }, { key: "", value: "" }] },
        ],
      }),
    );
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    const request = built.request;
    expect(request.version).toBe("draft");
    expect(request.contact).toEqual({
      email: "ada@example.com", first_name: "Ada", timezone: "Europe/Paris", status: "subscribed",
      tags: ["trial", "vip"], fields: { plan: "pro" },
    });
    expect(request.start).toBe(new Date("2026-11-23T08:00").toISOString());
    expect(request.until).toBe("P60D");
    expect(request.events).toEqual([
      { type: "email.opened", after: "P2D", properties: {} },
      { type: "email.clicked", after: "PT2H", properties: { url: "https://example.com/pricing" } },
      { type: "custom.purchased", at: new Date("2026-11-26T10:00").toISOString(), properties: { amount: 49, sku: "PRO-1" } },
    ]);
  });

  it("says what is wrong beside each field, with the API's paths", () => {
    const built = buildRequest(
      script({
        contact: { ...EMPTY_CONTACT, email: " ", fields: [{ key: "", value: "x" }] },
        start: "",
        until: "forever",
        events: [
          { ...event("a", "Opened"), timing: { kind: "after", text: "soon" } },
          { ...event("b"), timing: { kind: "at", local: "" }, properties: [{ key: "u", value: "1" }, { key: "u", value: "2" }] },
        ],
      }),
    );
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(Object.keys(built.problems).sort()).toEqual([
      "contact.email", "contact.fields[0]", "events[0].after", "events[0].type", "events[1].at",
      "events[1].properties[1]", "start", "until",
    ]);
    expect(built.problems["events[0].after"]).toContain("“soon” is not a duration");
    expect(built.problems["events[1].properties[1]"]).toBe("“u” is given twice.");
  });

  it("simulates a chosen published version", () => {
    const built = buildRequest(script({ version: "3" }));
    expect(built.ok && built.request.version).toBe("3");
  });
});

describe("the script's events", () => {
  it("reorders and keeps the list when a move has nowhere to go", () => {
    const events = [event("a"), event("b"), event("c")];
    expect(moveEvent(events, "b", -1).map((e) => e.id)).toEqual(["b", "a", "c"]);
    expect(moveEvent(events, "b", 1).map((e) => e.id)).toEqual(["a", "c", "b"]);
    expect(moveEvent(events, "a", -1).map((e) => e.id)).toEqual(["a", "b", "c"]);
  });

  it("gives each preset event its own id and properties", () => {
    const preset = EVENT_PRESETS[1]!;
    const one = presetEvent(preset);
    const two = presetEvent(preset);
    expect(one.id).not.toBe(two.id);
    one.properties[0]!.value = "changed";
    expect(two.properties[0]!.value).toBe("https://example.com/pricing");
  });

  it("offers the event types the node types' schemas give as examples and those the graph names", () => {
    const nodeTypes = [
      { type: "wait_for_event", config_schema: { properties: { event: { examples: ["email.opened", "email.clicked"] } } } },
      { type: "add_tag", config_schema: { properties: { tag: { type: "string" } } } },
    ] as unknown as NodeTypeInfo[];
    expect(eventTypesFor(nodeTypes, [{ event: "custom.purchased" }, { tag: "x" }, { event: "email.opened" }])).toEqual([
      "custom.purchased", "email.opened", "email.clicked",
    ]);
  });
});

describe("problemsFromDetails", () => {
  it("flattens the API's details to the form's field keys", () => {
    expect(
      problemsFromDetails({
        "contact.timezone": "Unknown time zone.",
        "events[0].after": "must not be negative",
        events: { "1": { at: ["Must be an ISO 8601 timestamp with a zone."] } },
        until: ["must be longer than zero"],
      }),
    ).toEqual({
      "contact.timezone": "Unknown time zone.",
      "events[0].after": "must not be negative",
      "events[1].at": "Must be an ISO 8601 timestamp with a zone.",
      until: "must be longer than zero",
    });
  });
});
