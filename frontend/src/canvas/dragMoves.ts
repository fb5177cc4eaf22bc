import { useCallback } from "react";
import { applyNodeChanges, useStoreApi, type NodeChange } from "@xyflow/react";
import type { FlowEdge, FlowNode } from "./graph";
import type { GraphStore } from "./graphStore";

/** Whether a change is a step's move in the middle of a drag (the drag's last one says `dragging: false`). */
export function isMoveDuringDrag(change: NodeChange<FlowNode>): boolean {
  return change.type === "position" && change.dragging === true;
}

/**
 * React Flow's node changes for the canvas's store, but for the moves in the middle of a drag: those go to React
 * Flow's own store alone, which draws the steps. Handed to the canvas's store, each frame's move redrew the canvas
 * and React Flow's root and had React Flow take the whole node list in again (every step, on every frame), besides
 * waking every reader of the store; nothing there needs the steps' places before they come to rest. React Flow
 * sends the drag's final places (`dragging: false`) before it says the drag stopped, so the store has them when
 * the gesture ends: history keeps the drag as one step, and the autosave follows it, as before.
 */
export function useNodeChanges(store: GraphStore): (changes: NodeChange<FlowNode>[]) => void {
  const flowStore = useStoreApi<FlowNode, FlowEdge>();
  return useCallback((changes: NodeChange<FlowNode>[]) => {
    const flow = flowStore.getState();
    if (changes.length > 0 && changes.every(isMoveDuringDrag)) {
      flow.setNodes(applyNodeChanges(changes, flow.nodes));
      return;
    }
    // Any other change during a drag (a step measured again as it comes into view) redraws React Flow from the
    // store: the store first takes where the dragged steps are, or they would jump back for a frame.
    const dragged = flow.nodes.filter((node) => node.dragging);
    const places = dragged.map((node): NodeChange<FlowNode> =>
      ({ type: "position", id: node.id, position: node.position, dragging: true }));
    store.getState().onNodesChange(places.length ? [...places, ...changes] : changes);
  }, [flowStore, store]);
}
