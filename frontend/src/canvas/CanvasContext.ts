import { createContext, useContext, useRef } from "react";
import { useStore } from "zustand";
import type { NodeTypeInfo } from "../api/types";
import { sameSteps, type FlowNode } from "./graph";
import type { GraphState, GraphStore } from "./graphStore";

export interface CanvasContextValue {
  store: GraphStore;
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>;
  /** The person may not edit (a viewer): the canvas shows the draft and offers no control that changes it. */
  readOnly: boolean;
}

export const CanvasContext = createContext<CanvasContextValue | null>(null);

export function useCanvas(): CanvasContextValue {
  const value = useContext(CanvasContext);
  if (!value) throw new Error("useCanvas is used outside the canvas");
  return value;
}

export function useGraph<T>(selector: (state: GraphState) => T): T {
  return useStore(useCanvas().store, selector);
}

/**
 * The steps, as they stand apart from where they sit: the same array while only positions, sizes or selection
 * change (React Flow keeps a node's `data` object through those changes). What depends on the graph's shape and
 * names (the editor mode, edge names, findings) reads this, so that a drag re-renders none of it.
 */
export function useGraphSteps(): FlowNode[] {
  const last = useRef<FlowNode[] | null>(null);
  return useGraph((state) => {
    if (last.current && sameSteps(last.current, state.nodes)) return last.current;
    last.current = state.nodes;
    return state.nodes;
  });
}

/**
 * The steps and connections as they stand when no drag is under way: the same object through a drag's frames,
 * then the graph as the drag left it. For what needs the whole draft but not each frame of a move (the publish
 * summary compares it with the live version).
 */
export function useSettledGraph(): Pick<GraphState, "nodes" | "edges"> {
  const last = useRef<Pick<GraphState, "nodes" | "edges"> | null>(null);
  return useGraph((state) => {
    const kept = last.current;
    if (kept && (state.moving || (kept.nodes === state.nodes && kept.edges === state.edges))) return kept;
    last.current = { nodes: state.nodes, edges: state.edges };
    return last.current;
  });
}
