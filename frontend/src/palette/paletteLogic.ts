import type { NodeKind, NodeTypeInfo, Preset } from "../api/types";

/** One thing the palette offers: a node type with an empty config, or a preset (a type with a config). */
export interface PaletteItem {
  key: string;
  type: string;
  kind: NodeKind;
  label: string;
  description: string;
  config: Record<string, unknown>;
  /** For a preset, its group (e.g. `email`): it tells it apart from the bare type of the same name. */
  presetOf?: string;
}

export const KIND_LABELS: Record<NodeKind, string> = {
  trigger: "Triggers",
  logic: "Logic",
  wait: "Waits",
  action: "Actions",
};

const KIND_ORDER: NodeKind[] = ["trigger", "logic", "wait", "action"];

export function paletteItems(types: readonly NodeTypeInfo[], presets: readonly Preset[]): PaletteItem[] {
  const kindOf = new Map(types.map((info) => [info.type, info.kind]));
  const fromTypes = types.map((info) => ({
    key: `type:${info.type}`,
    type: info.type,
    kind: info.kind,
    label: info.label,
    description: info.description,
    config: {},
  }));
  const fromPresets = presets.flatMap((preset) => {
    const kind = kindOf.get(preset.type);
    return kind
      ? [{
          key: `preset:${preset.id}`,
          type: preset.type,
          kind,
          label: preset.label,
          description: preset.description,
          config: preset.config,
          presetOf: preset.category,
        }]
      : [];
  });
  return [...fromTypes, ...fromPresets];
}

/** Group the items matching `search` (every word in the label, description or type) by kind, in flow order. */
export function groupedPalette(items: readonly PaletteItem[], search: string): [NodeKind, PaletteItem[]][] {
  const words = search.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  const matching = items.filter((item) => {
    const text = `${item.label} ${item.description} ${item.type}`.toLocaleLowerCase();
    return words.every((word) => text.includes(word));
  });
  return KIND_ORDER.map((kind) => [kind, matching.filter((item) => item.kind === kind)] as [NodeKind, PaletteItem[]])
    .filter(([, group]) => group.length > 0);
}
