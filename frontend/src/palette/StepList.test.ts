import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { NodeTypeInfo } from "../api/types";
import { paletteItems } from "./paletteLogic";
import { StepList, type StepListBehaviour } from "./StepList";

const types: NodeTypeInfo[] = [
  { type: "trigger_event", kind: "trigger", label: "Event", description: "When an event happens.", config_schema: {}, branches: ["default"] },
  { type: "condition", kind: "logic", label: "Condition", description: "Yes or no.", config_schema: {}, branches: ["yes", "no"] },
];
const items = paletteItems(types, []);

function markup(behaviour: StepListBehaviour, search = ""): string {
  return renderToStaticMarkup(createElement(StepList, { items, search, onSearch: () => {}, behaviour, headingLevel: 2 }));
}

// The palette drags and adds, the simple mode's picker chooses: the same list, grouped and labelled alike.
describe("the list of steps the palette and the step picker share", () => {
  const add: StepListBehaviour = { kind: "drag-and-add", onAdd: () => {} };
  const choose: StepListBehaviour = { kind: "choose", onChoose: () => {},
                                      note: (item) => (item.type === "condition" ? "opens the graph" : null) };

  it("draws the same labelled groups and buttons for both", () => {
    for (const html of [markup(add), markup(choose)]) {
      expect(html).toContain('<input type="search" aria-label="Search steps"');
      expect(html).toContain('<section aria-label="Triggers"><h2>Triggers</h2>');
      expect(html).toMatch(/<button type="button" class="palette-item kind-trigger"[^>]*>Event<\/button>/);
    }
  });

  it("makes items draggable on the canvas only, and says how to add them", () => {
    expect(markup(add)).toContain('draggable="true"');
    expect(markup(add)).toContain("Drag it onto the canvas, or press Enter to add it.");
    expect(markup(choose)).not.toContain("draggable");
    expect(markup(choose)).not.toContain("Drag it onto the canvas");
  });

  it("adds the picker's note to the items it concerns, and says when nothing matches", () => {
    expect(markup(choose)).toContain("Condition<span class=\"preset-of\"> · opens the graph</span>");
    expect(markup(add)).not.toContain("opens the graph");
    expect(markup(choose, "zzz")).toContain("No step matches “zzz”.");
  });
});
