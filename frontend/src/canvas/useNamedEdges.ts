import { useMemo } from "react";
import { useCanvas, useGraphSteps } from "./CanvasContext";
import type { FlowEdge } from "./graph";
import { nodeName } from "./issueNames";

/**
 * The edges with a name for screen readers that says which steps they join ("From Event “Signed up” to Delay"),
 * not React Flow's "Edge from n1 to n2". Recomputed when a step's name or type changes, not when steps move.
 */
export function useNamedEdges(edges: FlowEdge[]): FlowEdge[] {
  const { nodeTypes } = useCanvas();
  // The same steps while they only move: dragging a step recomputes nothing here.
  const steps = useGraphSteps();
  const names = useMemo(
    () => new Map(steps.map((node) => [node.id, nodeName(node, nodeTypes.get(node.type ?? ""))])),
    [steps, nodeTypes],
  );
  return useMemo(() => {
    return edges.map((edge) => {
      const branch = edge.sourceHandle && edge.sourceHandle !== "default" ? `, branch “${edge.sourceHandle}”` : "";
      const ariaLabel = `From ${names.get(edge.source) ?? "a missing step"} to ${names.get(edge.target) ?? "a missing step"}${branch}`;
      return edge.ariaLabel ? edge : { ...edge, ariaLabel };
    });
  }, [edges, names]);
}
