import { useMemo, useState } from "react";
import type { NodeTypeInfo, Preset } from "../api/types";
import { Dialog } from "../components/Dialog";
import { groupedPalette, KIND_LABELS, paletteItems, type PaletteItem } from "../palette/paletteLogic";
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
  const groups = groupedPalette(fitting, search);
  const close = () => {
    setSearch("");
    onClose();
  };
  return (
    <Dialog title={title} open={accepts !== null} onClose={close}>
      <input
        type="search"
        aria-label="Search steps"
        placeholder="Search steps"
        value={search}
        autoFocus
        onChange={(event) => setSearch(event.target.value)}
      />
      <div className="step-picker">
        {groups.length === 0 && <p className="muted">No step matches “{search}”.</p>}
        {groups.map(([kind, group]) => (
          <section key={kind} aria-label={KIND_LABELS[kind]}>
            <h3>{KIND_LABELS[kind]}</h3>
            <ul>
              {group.map((item) => (
                <li key={item.key}>
                  <button
                    type="button"
                    className={`palette-item kind-${item.kind}`}
                    title={item.description}
                    data-node-type={item.type}
                    onClick={() => {
                      setSearch("");
                      onPick(item);
                    }}
                  >
                    {item.label}
                    {item.presetOf && <span className="preset-of"> · {item.presetOf} preset</span>}
                    {types.shapeOf(item.type) === "branching" && <span className="preset-of"> · opens the graph</span>}
                  </button>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
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
