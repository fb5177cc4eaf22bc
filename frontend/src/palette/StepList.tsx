// The grouped, searchable list of steps that both the canvas's palette and the simple mode's step picker draw:
// one markup, two behaviours. On the canvas an item is dragged onto it (or added in the middle of the view from
// the keyboard); in the picker an item is chosen for the place being filled.
import type { DragEvent } from "react";
import { groupedPalette, KIND_LABELS, type PaletteItem } from "./paletteLogic";

export const PALETTE_MIME = "application/x-penguinflow-node";

export type StepListBehaviour =
  /** Drag onto the canvas, or press the item (Enter) to add it in the middle of the view. */
  | { kind: "drag-and-add"; onAdd: (item: PaletteItem) => void }
  /** Press the item to choose it here; `note` adds a word on an item ("opens the graph"). */
  | { kind: "choose"; onChoose: (item: PaletteItem) => void; note?: (item: PaletteItem) => string | null };

interface StepListProps {
  items: readonly PaletteItem[];
  search: string;
  onSearch: (search: string) => void;
  behaviour: StepListBehaviour;
  /** The level of the kind headings under the screen's own title (the palette's is the page's, a dialog's its h2). */
  headingLevel: 2 | 3;
  /** The class of the box around the groups (a dialog scrolls it on its own). */
  className?: string;
  autoFocus?: boolean;
}

export function StepList({ items, search, onSearch, behaviour, headingLevel, className, autoFocus }: StepListProps) {
  const groups = groupedPalette(items, search);
  const Heading = headingLevel === 2 ? "h2" : "h3";
  return (
    <>
      <input
        type="search"
        aria-label="Search steps"
        placeholder="Search steps"
        value={search}
        autoFocus={autoFocus}
        onChange={(event) => onSearch(event.target.value)}
      />
      <div className={className}>
        {groups.length === 0 && <p className="muted">No step matches “{search}”.</p>}
        {groups.map(([kind, group]) => (
          <section key={kind} aria-label={KIND_LABELS[kind]}>
            <Heading>{KIND_LABELS[kind]}</Heading>
            <ul>
              {group.map((item) => (
                <li key={item.key}>
                  <StepItem item={item} behaviour={behaviour} />
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </>
  );
}

function StepItem({ item, behaviour }: { item: PaletteItem; behaviour: StepListBehaviour }) {
  const dragging = behaviour.kind === "drag-and-add";
  const note = behaviour.kind === "choose" ? behaviour.note?.(item) : null;
  const startDrag = (event: DragEvent) => {
    event.dataTransfer.setData(PALETTE_MIME, JSON.stringify(item));
    event.dataTransfer.effectAllowed = "move";
  };
  return (
    <button
      type="button"
      className={`palette-item kind-${item.kind}`}
      draggable={dragging || undefined}
      onDragStart={dragging ? startDrag : undefined}
      onClick={() => (behaviour.kind === "drag-and-add" ? behaviour.onAdd(item) : behaviour.onChoose(item))}
      title={dragging ? `${item.description} Drag it onto the canvas, or press Enter to add it.` : item.description}
      data-node-type={item.type}
    >
      {item.label}
      {item.presetOf && <span className="preset-of"> · {item.presetOf} preset</span>}
      {note && <span className="preset-of"> · {note}</span>}
    </button>
  );
}
