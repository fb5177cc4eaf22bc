import { describe, expect, it } from "vitest";
import type { NodeTypeInfo, Preset } from "../api/types";
import { groupedPalette, paletteItems } from "./paletteLogic";

const types: NodeTypeInfo[] = [
  { type: "send_email", kind: "action", label: "Send email", description: "Send a template", config_schema: {}, branches: ["default"] },
  { type: "trigger_event", kind: "trigger", label: "Event", description: "When an event happens", config_schema: {}, branches: ["default"] },
  { type: "delay", kind: "wait", label: "Delay", description: "Wait a while", config_schema: {}, branches: ["default"] },
];
const presets: Preset[] = [
  { id: "signup", label: "Signed up", description: "A contact is created", category: "contact", type: "trigger_event", config: { event: "contact.created" }, example: {} },
  { id: "orphan", label: "Gone", description: "Its type no longer exists", category: "x", type: "removed_type", config: {}, example: {} },
];

describe("palette", () => {
  it("groups types and presets by kind in the order a flow reads, dropping presets of unknown types", () => {
    const groups = groupedPalette(paletteItems(types, presets), "");
    expect(groups.map(([kind, items]) => [kind, items.map((item) => item.label)])).toEqual([
      ["trigger", ["Event", "Signed up"]],
      ["wait", ["Delay"]],
      ["action", ["Send email"]],
    ]);
    expect(groups[0]?.[1][1]?.config).toEqual({ event: "contact.created" });
  });

  it("finds items by every word typed, in labels, descriptions and type names", () => {
    const groups = groupedPalette(paletteItems(types, presets), "contact CREATED");
    expect(groups.flatMap(([, items]) => items.map((item) => item.key))).toEqual(["preset:signup"]);
    expect(groupedPalette(paletteItems(types, presets), "send_email")[0]?.[1][0]?.label).toBe("Send email");
    expect(groupedPalette(paletteItems(types, presets), "nothing like this")).toEqual([]);
  });
});
