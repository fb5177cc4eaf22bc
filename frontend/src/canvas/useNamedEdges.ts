import { useMemo } from "react";
import { useCanvas, useGraph } from "./CanvasContext";
import type { FlowEdge } from "./graph";
import { nodeName } from "./issueNames";

const FIELD = "\u001f";
const RECORD = "\u001e";

/**
 * The edges with a name for screen readers that says which steps they join ("From Event “Signed up” to Delay"),
 * not React Flow's "Edge from n1 to n2". Recomputed when a step's name or type changes, not when steps move.
 */
export function useNamedEdges(edges: FlowEdge[]): FlowEdge[] {
  const { nodeTypes } = useCanvas();
  // One string (compared by value), so dragging a step re-renders nothing here.
  const key = useGraph((state) =>
    state.nodes.map((node) => [node.id, nodeName(node, nodeTypes.get(node.type ?? ""))].join(FIELD)).join(RECORD),
  );
  return useMemo(() => {
    const names = new Map(key ? key.split(RECORD).map((record) => record.split(FIELD) as [string, string]) : []);
    return edges.map((edge) => {
      const branch = edge.sourceHandle && edge.sourceHandle !== "default" ? `, branch “${edge.sourceHandle}”` : "";
      const ariaLabel = `From ${names.get(edge.source) ?? "a missing step"} to ${names.get(edge.target) ?? "a missing step"}${branch}`;
      return edge.ariaLabel ? edge : { ...edge, ariaLabel };
    });
  }, [edges, key]);
}
