import { useMemo, useState } from "react";
import type { NodeTypeInfo, Preset } from "../api/types";
import { Dialog } from "../components/Dialog";
import { paletteItems, type PaletteItem } from "../palette/paletteLogic";
import { StepList } from "../palette/StepList";
import type { ChainTypes } from "./chain";

export interface SlotAccepts {
  triggers: boolean;
  steps: boolean;
  ends: boolean;
}

interface StepPickerProps {
  title: string;
  /** What the place being filled takes; null while the picker is closed. */
  accepts: SlotAccepts | null;
  nodeTypes: readonly NodeTypeInfo[];
  presets: readonly Preset[];
  types: ChainTypes;
  onPick: (item: PaletteItem) => void;
  onClose: () => void;
}

/** The palette's items (types and presets) that fit one place in the list, searchable, in a dialog. */
export function StepPicker({ title, accepts, nodeTypes, presets, types, onPick, onClose }: StepPickerProps) {
  const [search, setSearch] = useState("");
  const items = useMemo(() => paletteItems(nodeTypes, presets), [nodeTypes, presets]);
  const fitting = accepts ? items.filter((item) => fits(item, accepts, types)) : [];
  const close = () => {
    setSearch("");
    onClose();
  };
  const choose = (item: PaletteItem) => {
    setSearch("");
    onPick(item);
  };
  const note = (item: PaletteItem) => (types.shapeOf(item.type) === "branching" ? "opens the graph" : null);
  return (
    <Dialog title={title} open={accepts !== null} onClose={close}>
      <StepList items={fitting} search={search} onSearch={setSearch} behaviour={{ kind: "choose", onChoose: choose, note }}
                headingLevel={3} className="step-picker" autoFocus />
      <div className="dialog-actions">
        <button type="button" onClick={close}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

function fits(item: PaletteItem, accepts: SlotAccepts, types: ChainTypes): boolean {
  if (item.kind === "trigger") return accepts.triggers;
  return types.shapeOf(item.type) === "terminal" ? accepts.ends : accepts.steps;
}
