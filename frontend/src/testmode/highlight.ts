// A simulation's path (CONTRACT §8) as marks on the canvas: the steps visited, numbered in order with their
// times; the edges taken; everything else dimmed. The canvas's own nodes and edges are never changed: marked
// copies are handed to React Flow while test mode shows a result.
import type { SimulationResult, SimulationStep } from "../api/types";
import type { FlowEdge, FlowNode } from "../canvas/graph";

/** One visit of a node: the path entries it made in a row (a wait, then what woke it). */
export interface Visit {
  number: number;
  nodeId: string;
  steps: SimulationStep[];
  at: string; // when the visit began
  branch: string | null; // the branch it left by, if it did
}

export interface PathHighlight {
  visits: Visit[];
  visitsByNode: Map<string, Visit[]>;
  edgesTaken: Set<string>;
}

export const VISITED_CLASS = "test-visited";
export const DIMMED_CLASS = "test-dimmed";
export const TAKEN_CLASS = "test-taken";
export const FAILED_CLASS = "test-failed";

/** Group the path into visits: consecutive entries of one node are one visit (its wait and its waking). */
export function visitsOf(path: readonly SimulationStep[]): Visit[] {
  const visits: Visit[] = [];
  for (const step of path) {
    if (step.outcome === "not_entered") continue; // a trigger that did not start is not a step of the run
    const last = visits[visits.length - 1];
    if (last && last.nodeId === step.node_id && last.steps[last.steps.length - 1]?.outcome === "wait") {
      last.steps.push(step);
      last.branch = step.branch;
      continue;
    }
    visits.push({ number: visits.length + 1, nodeId: step.node_id, steps: [step], at: step.at, branch: step.branch });
  }
  return visits;
}

/** Which edges the run took: from each visit, by the branch it left by, to the node visited next. */
export function highlightOf(result: SimulationResult, edges: readonly FlowEdge[]): PathHighlight {
  return pathHighlightOf(result.path, edges);
}

/** The marks of any path in the simulation's shape: a test run's, or a real execution's step log (executions/). */
export function pathHighlightOf(path: readonly SimulationStep[], edges: readonly FlowEdge[]): PathHighlight {
  const visits = visitsOf(path);
  const visitsByNode = new Map<string, Visit[]>();
  for (const visit of visits) visitsByNode.set(visit.nodeId, [...(visitsByNode.get(visit.nodeId) ?? []), visit]);
  const edgesTaken = new Set<string>();
  visits.forEach((visit, index) => {
    const next = visits[index + 1];
    if (!next || visit.branch === null) return;
    const edge = edges.find(
      (candidate) =>
        candidate.source === visit.nodeId &&
        candidate.target === next.nodeId &&
        (candidate.sourceHandle ?? "default") === visit.branch,
    );
    if (edge) edgesTaken.add(edge.id);
  });
  return { visits, visitsByNode, edgesTaken };
}

function withClass(existing: string | undefined, added: string): string {
  return [existing, added].filter(Boolean).join(" ");
}

/** The nodes with the run's marks: visited (or failed there) or dimmed. */
export function markNodes(nodes: FlowNode[], highlight: PathHighlight | null): FlowNode[] {
  if (!highlight) return nodes;
  return nodes.map((node) => {
    const visits = highlight.visitsByNode.get(node.id);
    if (!visits) return { ...node, className: withClass(node.className, DIMMED_CLASS) };
    const failed = visits.some((visit) => visit.steps.some((step) => step.outcome === "fail"));
    return { ...node, className: withClass(node.className, failed ? `${VISITED_CLASS} ${FAILED_CLASS}` : VISITED_CLASS) };
  });
}

/** The edges with the run's marks: the ones taken animated and highlighted, the others dimmed. */
export function markEdges(edges: FlowEdge[], highlight: PathHighlight | null): FlowEdge[] {
  if (!highlight) return edges;
  return edges.map((edge) =>
    highlight.edgesTaken.has(edge.id)
      ? { ...edge, animated: true, className: withClass(edge.className, TAKEN_CLASS) }
      : { ...edge, className: withClass(edge.className, DIMMED_CLASS) },
  );
}

/** A moment as the timeline shows it: weekday, date and time, in the browser's time zone. */
export function momentText(iso: string, timeZone?: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(iso));
}

/**
 * What a run depends on in the canvas: the steps (id, type, config) and how they are joined. Moving or selecting
 * a step does not change it; any edit that could change the path does.
 */
export function graphSignature(nodes: readonly FlowNode[], edges: readonly FlowEdge[]): string {
  return JSON.stringify([
    nodes.map((node) => [node.id, node.type, node.data.config]),
    edges.map((edge) => [edge.source, edge.target, edge.sourceHandle ?? "default"]),
  ]);
}
