import { useCallback, useEffect, useMemo, useState } from "react";
import { useCanvas, useGraph, useGraphSteps } from "../canvas/CanvasContext";
import { chainOf, chainTypes } from "./chain";
import { initialMode, readModeChoice, storeModeChoice, type EditorMode } from "./modePreference";

/**
 * Which editor shows the draft: the list while the graph is a chain (unless the user chose the graph for this
 * workflow), else the graph. When an edit makes the graph something a list cannot show (a branching step added,
 * an undo back to a branch, steps pasted beside the list), the graph takes over and `onSwitched` says why.
 * A screen that needs the graph for a while (test mode paints its run on it) holds it with `holdGraph`: the list
 * comes back when it lets go, and the user's choice is neither changed nor stored.
 */
export function useEditorMode(workflowId: string, onSwitched: (notice: string) => void) {
  const { nodeTypes } = useCanvas();
  // Steps apart from their positions: a drag neither walks the chain again nor redraws the editor.
  const nodes = useGraphSteps();
  const edges = useGraph((state) => state.edges);
  const types = useMemo(() => chainTypes(nodeTypes), [nodeTypes]);
  const chain = useMemo(() => chainOf({ nodes, edges }, types), [nodes, edges, types]);
  const [mode, setMode] = useState<EditorMode>(() => initialMode(readModeChoice(workflowId), chain.ok));
  const [graphHeld, setGraphHeld] = useState(false);

  useEffect(() => {
    if (mode === "simple" && !chain.ok) {
      setMode("graph");
      onSwitched(`Switched to the graph editor: ${chain.reason}`);
    }
  }, [mode, chain, onSwitched]);

  const choose = useCallback(
    (next: EditorMode) => {
      if (next === "simple" && !chain.ok) return;
      storeModeChoice(workflowId, next);
      setMode(next);
      setGraphHeld(false);
    },
    [workflowId, chain.ok],
  );

  return {
    mode: mode === "simple" && chain.ok && !graphHeld ? ("simple" as const) : ("graph" as const),
    holdGraph: setGraphHeld,
    steps: chain.ok ? chain.steps : null,
    /** Why the list cannot show this graph, or null when it can. */
    notAList: chain.ok ? null : chain.reason,
    types,
    choose,
  };
}
