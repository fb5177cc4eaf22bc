import { describe, expect, it } from "vitest";
import { initialMode, readModeChoice, storeModeChoice } from "./modePreference";
import { ApiError } from "../api/client";
import { COLLECTIONS } from "../panel/references";
import { configSummary } from "./summary";
import { nameIn } from "./useReferenceNames";

describe("a step's settings in one line", () => {
  const schema = { properties: { event: { title: "Event" }, filter: {}, tags: {} } };

  it("lists what is set in the schema's order, with the schema's titles", () => {
    expect(configSummary({ tags: ["a", "b"], event: "contact.created" }, schema)).toBe("Event: contact.created · tags: a, b");
    expect(configSummary({ filter: { "==": [1, 1] } }, schema)).toBe('filter: {"==":[1,1]}');
  });

  it("says nothing for an empty config, and shortens a long one", () => {
    expect(configSummary({ event: "", filter: {} }, schema)).toBe("");
    const summary = configSummary({ event: "x".repeat(200) }, schema);
    expect(summary).toHaveLength(90);
    expect(summary.endsWith("…")).toBe(true);
  });
});

describe("a step's references on its card", () => {
  const schema = {
    properties: {
      template_id: { title: "Email template", "x-reference": "templates" },
      to: { title: "To", "x-reference": "members",
            anyOf: [{ type: "array", items: { type: "string" } }, { const: "workspace_admins" }] },
    },
  };
  const names: Record<string, string> = { "445ee37c": "Welcome email", "ada@example.com": "Ada" };
  const nameOf = (_collection: unknown, value: string) => names[value] ?? null;

  it("says the object's name where the config holds its id", () => {
    expect(configSummary({ template_id: "445ee37c" }, schema, nameOf)).toBe("Email template: Welcome email");
    expect(configSummary({ to: ["ada@example.com"] }, schema, nameOf)).toBe("To: Ada");
    expect(configSummary({ to: "workspace_admins" }, schema, nameOf)).toBe("To: All workspace admins");
  });

  it("never shows the raw id, even before the name is read", () => {
    expect(configSummary({ template_id: "445ee37c" }, schema)).toBe("Email template: an email template");
    expect(configSummary({ template_id: "445ee37c" }, { properties: { template_id: { title: "Template Id", "x-reference": "templates" } } },
                         nameOf)).toBe("Template: Welcome email");
  });

  it("says a deleted object in words", () => {
    const templates = COLLECTIONS.templates!;
    const gone = new ApiError(404, { code: "not_found", message: "Not found.", details: {} });
    expect(nameIn(templates, undefined, gone)).toBe("deleted email template");
    expect(nameIn(templates, { value: "1", label: "Welcome email" }, null)).toBe("Welcome email");
    expect(nameIn(templates, undefined, null)).toBeNull();
    expect(nameIn(COLLECTIONS.members!, null, null)).toBe("unknown member");
  });
});

describe("the editor a workflow opens in", () => {
  it("opens a chain as a list unless the graph was chosen, and anything else as a graph", () => {
    expect(initialMode(null, true)).toBe("simple");
    expect(initialMode("graph", true)).toBe("graph");
    expect(initialMode("simple", false)).toBe("graph");
  });

  it("remembers the choice per workflow", () => {
    const storage = new Map<string, string>();
    const fake = {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => void storage.set(key, value),
    } as unknown as Storage;
    storeModeChoice("w1", "graph", fake);
    expect(readModeChoice("w1", fake)).toBe("graph");
    expect(readModeChoice("w2", fake)).toBeNull();
  });
});
