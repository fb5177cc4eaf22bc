// One graph to draw a diff on: the newer side as it is, plus what the older side had and the newer lost, kept at
// its old place as a ghost. Each step and connection carries its status, which the canvas turns into a colour.
import type { GraphEdgeJson, GraphNodeJson } from "../api/types";
import { diffGraphs, type GraphDiff, type Snapshot } from "./graphDiff";

export type NodeStatus = "added" | "removed" | "changed" | "moved" | "same";
export type EdgeStatus = "added" | "removed" | "rebranched" | "same";

export interface DiffNode extends GraphNodeJson {
  status: NodeStatus;
}

export interface DiffEdge extends GraphEdgeJson {
  status: EdgeStatus;
}

// A removed connection may share its id with a current one (ids are only unique within one graph).
export const GHOST_PREFIX = "removed:";

export function diffCanvas(before: Snapshot, after: Snapshot, diff: GraphDiff = diffGraphs(before, after)) {
  const nodeStatus = new Map<string, NodeStatus>([
    ...diff.addedNodes.map((node) => [node.id, "added"] as const),
    ...diff.changedNodes.map((change) => [change.id, "changed"] as const),
    ...diff.movedNodes.map((move) => [move.id, "moved"] as const),
  ]);
  const nodes: DiffNode[] = [
    ...(after.graph.nodes ?? []).map((node) => ({ ...node, status: nodeStatus.get(node.id) ?? "same" })),
    ...diff.removedNodes.map((node) => ({ ...node, status: "removed" as const })),
  ];
  const added = new Set(diff.addedEdges);
  const rebranched = new Set(diff.rebranchedEdges.map((pair) => pair.after));
  const edges: DiffEdge[] = [
    ...(after.graph.edges ?? []).map((edge) => ({
      ...edge,
      status: added.has(edge) ? ("added" as const) : rebranched.has(edge) ? ("rebranched" as const) : ("same" as const),
    })),
    ...diff.removedEdges.map((edge) => ({ ...edge, id: `${GHOST_PREFIX}${edge.id}`, status: "removed" as const })),
  ];
  return { nodes, edges, diff };
}
