import { memo, useMemo, useState, type DragEvent } from "react";
import type { NodeTypeInfo, Preset } from "../api/types";
import { groupedPalette, KIND_LABELS, paletteItems, type PaletteItem } from "./paletteLogic";

export const PALETTE_MIME = "application/x-penguinflow-node";

interface PaletteProps {
  nodeTypes: readonly NodeTypeInfo[];
  presets: readonly Preset[];
  /** Add the item in the middle of the view: for the keyboard, where dragging is not an option. */
  onAdd: (item: PaletteItem) => void;
}

// Memoised: the canvas redraws on every frame of a drag, and the palette has nothing to do with it.
export const Palette = memo(function Palette({ nodeTypes, presets, onAdd }: PaletteProps) {
  const [search, setSearch] = useState("");
  const items = useMemo(() => paletteItems(nodeTypes, presets), [nodeTypes, presets]);
  const groups = groupedPalette(items, search);
  const startDrag = (event: DragEvent, item: PaletteItem) => {
    event.dataTransfer.setData(PALETTE_MIME, JSON.stringify(item));
    event.dataTransfer.effectAllowed = "move";
  };
  return (
    <aside className="palette" aria-label="Steps you can add">
      <input
        type="search"
        aria-label="Search steps"
        placeholder="Search steps"
        value={search}
        onChange={(event) => setSearch(event.target.value)}
      />
      {groups.length === 0 && <p className="muted">No step matches “{search}”.</p>}
      {groups.map(([kind, group]) => (
        <section key={kind} aria-label={KIND_LABELS[kind]}>
          <h2>{KIND_LABELS[kind]}</h2>
          <ul>
            {group.map((item) => (
              <li key={item.key}>
                <button
                  type="button"
                  className={`palette-item kind-${item.kind}`}
                  draggable
                  onDragStart={(event) => startDrag(event, item)}
                  onClick={() => onAdd(item)}
                  title={`${item.description} Drag it onto the canvas, or press Enter to add it.`}
                  data-node-type={item.type}
                >
                  {item.label}
                  {item.presetOf && <span className="preset-of"> · {item.presetOf} preset</span>}
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </aside>
  );
});
