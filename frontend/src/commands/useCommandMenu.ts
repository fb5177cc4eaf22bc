import { useCallback, useMemo, useState } from "react";
import type { NodeTypeInfo, Preset } from "../api/types";
import { useCanvas } from "../canvas/CanvasContext";
import { createHoveredEdgeStore } from "../canvas/InsertableEdge";
import { insertStepOnEdge } from "../canvas/insertOnEdge";
import { nodeName } from "../canvas/issueNames";
import { paletteItems, type PaletteItem } from "../palette/paletteLogic";
import { canvasCommands, type CanvasCommandActions, type CanvasCommandState } from "./canvasCommands";
import type { CommandMenuPurpose } from "./commandLogic";

interface CommandMenuOptions {
  nodeTypes: readonly NodeTypeInfo[];
  presets: readonly Preset[];
  /** Add a step chosen in the menu opened for anything (not for an edge). */
  onAdd: (item: PaletteItem) => void;
  actions: CanvasCommandActions;
  state: CanvasCommandState;
}

/** The command menu's state: opened for anything (Ctrl+K, /) or for one edge's "+", and what choosing does. */
export function useCommandMenu({ nodeTypes, presets, onAdd, actions, state }: CommandMenuOptions) {
  const { store, nodeTypes: byName } = useCanvas();
  const [purpose, setPurpose] = useState<CommandMenuPurpose | null>(null);
  const [hover] = useState(createHoveredEdgeStore);
  const items = useMemo(() => paletteItems(nodeTypes, presets), [nodeTypes, presets]);
  const open = useCallback(() => setPurpose({ kind: "anything" }), []);
  const insertOn = useCallback((edgeId: string) => setPurpose({ kind: "insert", edgeId }), []);
  const edgeInsert = useMemo(() => ({ insertOn, hover }), [insertOn, hover]);
  const hoverEdge = useCallback((edgeId: string | null) => hover.setState({ hovered: edgeId }), [hover]);

  const chooseStep = (item: PaletteItem, chosenFor: CommandMenuPurpose) => {
    if (chosenFor.kind === "anything") return onAdd(item);
    insertStepOnEdge(store, byName, chosenFor.edgeId, item);
  };

  return {
    open,
    hoverEdge,
    edgeInsert,
    props: {
      purpose,
      title: purpose?.kind === "insert" ? insertTitle(purpose.edgeId) : "Add a step or run a command",
      items,
      commands: canvasCommands(actions, state),
      onChooseStep: chooseStep,
      onClose: () => setPurpose(null),
    },
  };

  function insertTitle(edgeId: string): string {
    const { nodes, edges } = store.getState();
    const edge = edges.find((candidate) => candidate.id === edgeId);
    const name = (id: string | undefined) => {
      const node = nodes.find((candidate) => candidate.id === id);
      return node ? nodeName(node, byName.get(node.type ?? "")) : "?";
    };
    return `Insert a step between ${name(edge?.source)} and ${name(edge?.target)}`;
  }
}
