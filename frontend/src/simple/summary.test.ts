import { describe, expect, it } from "vitest";
import { initialMode, readModeChoice, storeModeChoice } from "./modePreference";
import { configSummary } from "./summary";

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
