import { createContext, useContext } from "react";
import { useStore } from "zustand";
import type { NodeTypeInfo } from "../api/types";
import type { GraphState, GraphStore } from "./graphStore";

export interface CanvasContextValue {
  store: GraphStore;
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>;
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
