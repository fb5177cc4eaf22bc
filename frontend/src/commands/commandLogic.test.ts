import { describe, expect, it } from "vitest";
import type { PaletteItem } from "../palette/paletteLogic";
import { canvasCommands } from "./canvasCommands";
import { commandSections } from "./commandLogic";

const item = (key: string, kind: PaletteItem["kind"], label: string, description = ""): PaletteItem => ({
  key, type: key, kind, label, description, config: {},
});
const ITEMS = [
  item("trigger_event", "trigger", "Event", "When an event happens"),
  item("delay", "wait", "Delay", "Wait a while"),
  item("send_email", "action", "Send email", "Send a template"),
];
const noop = () => undefined;
const COMMANDS = canvasCommands(
  { addNote: noop, tidyUp: noop, fitView: noop, undo: noop, redo: noop, publish: noop, help: noop },
  { canUndo: true, canRedo: false, canTidy: true, publishBlockedBecause: "Fix the errors first" },
);

function shown(sections: ReturnType<typeof commandSections>) {
  return sections.map((section) => [
    section.heading,
    section.entries.map((entry) => (entry.kind === "command" ? entry.command.label : entry.item.label)),
  ]);
}

describe("command menu", () => {
  it("lists the canvas's commands, then every step by kind, when nothing is typed", () => {
    const sections = commandSections({ kind: "anything" }, ITEMS, COMMANDS, "");
    expect(shown(sections).map(([heading]) => heading)).toEqual(["Canvas", "Triggers", "Waits", "Actions"]);
    expect(shown(sections)[0]![1]).toContain("Add a sticky note");
  });

  it("keeps what has every typed word in its label, keywords or description", () => {
    expect(shown(commandSections({ kind: "anything" }, ITEMS, COMMANDS, "send"))).toEqual([["Actions", ["Send email"]]]);
    expect(shown(commandSections({ kind: "anything" }, ITEMS, COMMANDS, "LAYOUT"))).toEqual([["Canvas", ["Tidy up"]]]);
    expect(shown(commandSections({ kind: "anything" }, ITEMS, COMMANDS, "wait while"))).toEqual([["Waits", ["Delay"]]]);
    expect(commandSections({ kind: "anything" }, ITEMS, COMMANDS, "nothing like this")).toEqual([]);
  });

  it("offers only steps that can go on an edge when inserting (no commands, no triggers)", () => {
    expect(shown(commandSections({ kind: "insert", edgeId: "e1" }, ITEMS, COMMANDS, ""))).toEqual([
      ["Waits", ["Delay"]],
      ["Actions", ["Send email"]],
    ]);
  });

  it("says why a command cannot run now", () => {
    const publish = COMMANDS.find((command) => command.id === "publish")!;
    expect(publish.disabledBecause).toBe("Fix the errors first");
    expect(COMMANDS.find((command) => command.id === "redo")!.disabledBecause).toBe("Nothing to redo");
  });
});
