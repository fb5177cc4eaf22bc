import { memo, useMemo, useState } from "react";
import type { NodeTypeInfo, Preset } from "../api/types";
import { paletteItems, type PaletteItem } from "./paletteLogic";
import { StepList } from "./StepList";

export { PALETTE_MIME } from "./StepList";

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
  const behaviour = useMemo(() => ({ kind: "drag-and-add" as const, onAdd }), [onAdd]);
  return (
    <aside className="palette" aria-label="Steps you can add">
      <StepList items={items} search={search} onSearch={setSearch} behaviour={behaviour} headingLevel={2} />
    </aside>
  );
});
