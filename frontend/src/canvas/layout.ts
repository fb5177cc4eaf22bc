// Auto-layout with dagre (a layered layout, top to bottom like the canvas's handles); loaded only when asked for.
import dagre from "@dagrejs/dagre";
import type { FlowEdge, FlowNode } from "./graph";
import { isNote } from "./notes";

// Used for a node React Flow has not measured yet (outside the view, with only visible elements rendered).
const FALLBACK_SIZE = { width: 220, height: 70 };
const GAPS = { nodesep: 40, ranksep: 70 };

export type Positions = Record<string, { x: number; y: number }>;

type RankedGraph = dagre.graphlib.Graph<{ rank?: number }>;

/**
 * Rank every node one step below its lowest predecessor, from the triggers down (a longest path, in linear time).
 * Dagre's default ranker (network simplex) took seconds on a few hundred steps and draws a workflow much the same:
 * each step just under what leads to it. Dagre calls this with its own graph, whose edges carry `minlen`.
 */
function topDownRanks(graph: RankedGraph): void {
  const waiting = new Map<string, number>();
  const ready: string[] = [];
  for (const id of graph.nodes()) {
    const incoming = graph.inEdges(id)?.length ?? 0;
    waiting.set(id, incoming);
    if (incoming === 0) {
      graph.node(id).rank = 0;
      ready.push(id);
    }
  }
  for (let index = 0; index < ready.length; index++) {
    const rank = graph.node(ready[index]!).rank ?? 0;
    for (const edge of graph.outEdges(ready[index]!) ?? []) {
      const next = graph.node(edge.w);
      const minlen = (graph.edge(edge) as { minlen?: number } | undefined)?.minlen ?? 1;
      next.rank = Math.max(next.rank ?? Number.NEGATIVE_INFINITY, rank + minlen);
      const left = (waiting.get(edge.w) ?? 1) - 1;
      waiting.set(edge.w, left);
      if (left === 0) ready.push(edge.w);
    }
  }
}

/** Top-left positions that lay the graph out in ranks from its triggers down, keeping its current origin. */
export function layoutPositions(allNodes: readonly FlowNode[], edges: readonly FlowEdge[]): Positions {
  // Notes stay where people put them: the layout is of the steps.
  const nodes = allNodes.filter((node) => !isNote(node));
  if (nodes.length === 0) return {};
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "TB", ...GAPS, ranker: topDownRanks as unknown as "longest-path" });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) {
    const width = node.measured?.width ?? FALLBACK_SIZE.width;
    const height = node.measured?.height ?? FALLBACK_SIZE.height;
    graph.setNode(node.id, { width, height });
  }
  for (const edge of edges) graph.setEdge(edge.source, edge.target);
  dagre.layout(graph);
  const origin = {
    x: Math.min(...nodes.map((node) => node.position.x)),
    y: Math.min(...nodes.map((node) => node.position.y)),
  };
  const laidOut = nodes.map((node) => {
    const { x, y, width, height } = graph.node(node.id);
    return { id: node.id, x: x - width / 2, y: y - height / 2 };
  });
  const shift = { x: origin.x - Math.min(...laidOut.map((p) => p.x)), y: origin.y - Math.min(...laidOut.map((p) => p.y)) };
  return Object.fromEntries(laidOut.map((p) => [p.id, { x: Math.round(p.x + shift.x), y: Math.round(p.y + shift.y) }]));
}
