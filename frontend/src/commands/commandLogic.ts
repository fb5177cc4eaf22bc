// What the command menu offers for a search: the canvas's commands, then the palette's steps by kind. Plain data
// and functions, so the filtering is tested without a browser.
import { groupedPalette, KIND_LABELS, type PaletteItem } from "../palette/paletteLogic";

export interface CanvasCommand {
  id: string;
  label: string;
  /** More words it is found by (e.g. "layout arrange" for Tidy up). */
  keywords?: string;
  /** The keys that do the same, shown beside it. */
  shortcut?: string;
  /** Why it cannot run now; it is listed, greyed, with this as its hint. */
  disabledBecause?: string | null;
  run: () => void;
}

export type CommandEntry =
  | { key: string; kind: "command"; command: CanvasCommand }
  | { key: string; kind: "step"; item: PaletteItem };

export interface CommandSection {
  heading: string;
  entries: CommandEntry[];
}

/** What the menu is for: anything (Ctrl+K), or the step to put on one edge (its "+"), where triggers cannot go. */
export type CommandMenuPurpose = { kind: "anything" } | { kind: "insert"; edgeId: string };

export function searchWords(search: string): string[] {
  return search.toLocaleLowerCase().split(/\s+/).filter(Boolean);
}

function commandMatches(command: CanvasCommand, words: readonly string[]): boolean {
  const text = `${command.label} ${command.keywords ?? ""}`.toLocaleLowerCase();
  return words.every((word) => text.includes(word));
}

/** The sections to show for `search`: every word must be found; empty sections are left out. */
export function commandSections(
  purpose: CommandMenuPurpose,
  items: readonly PaletteItem[],
  commands: readonly CanvasCommand[],
  search: string,
): CommandSection[] {
  const words = searchWords(search);
  const steps = purpose.kind === "insert" ? items.filter((item) => item.kind !== "trigger") : items;
  const sections: CommandSection[] = [];
  if (purpose.kind === "anything") {
    const matching = commands.filter((command) => commandMatches(command, words));
    if (matching.length > 0) {
      sections.push({
        heading: "Canvas",
        entries: matching.map((command) => ({ key: `command:${command.id}`, kind: "command", command })),
      });
    }
  }
  for (const [kind, group] of groupedPalette(steps, search)) {
    sections.push({
      heading: KIND_LABELS[kind],
      entries: group.map((item) => ({ key: item.key, kind: "step", item })),
    });
  }
  return sections;
}
