// Inserting a step on an edge: the edge from A's branch to B becomes A's branch → the new step → B, leaving the
// new step by its default branch (or its first one). Nothing here knows a node type: the caller names the branch.
import { DEFAULT_BRANCH, branchesOf, flowEdge, newId, type FlowEdge, type FlowNode } from "./graph";
import type { NodeTypeInfo } from "../api/types";

export interface NewStep {
  type: string;
  label: string;
  config: Record<string, unknown>;
}

// The room a step needs between two others; a target closer than this is moved down, with what follows it.
const ROW = { height: 70, gap: 50 };

/** The branch a new step continues by after being put on an edge: `default` when it has one, else its first. */
export function exitBranchOf(info: NodeTypeInfo | undefined, config: Record<string, unknown>): string | null {
  const branches = branchesOf(info, config);
  return (branches.find((branch) => branch.id === DEFAULT_BRANCH) ?? branches[0])?.id ?? null;
}

/**
 * The graph with `step` put on the edge `edgeId`: placed between its source and target (the target, and the steps
 * after it, move down when there is no room), selected alone. Null when there is no such edge.
 */
export function insertedOnEdge(
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
  edgeId: string,
  step: NewStep,
  exitBranch: string | null,
  idFor: (prefix: string) => string = newId,
): { id: string; nodes: FlowNode[]; edges: FlowEdge[] } | null {
  const edge = edges.find((candidate) => candidate.id === edgeId);
  const source = nodes.find((node) => node.id === edge?.source);
  const target = nodes.find((node) => node.id === edge?.target);
  if (!edge || !source || !target) return null;
  const id = idFor("n");
  const sourceBottom = source.position.y + (source.measured?.height ?? ROW.height);
  const room = target.position.y - sourceBottom;
  const needed = ROW.height + 2 * ROW.gap;
  const shift = room < needed ? needed - Math.max(room, 0) : 0;
  const moved = shift > 0 ? following(edges, target.id, source.id) : new Set<string>();
  const placed: FlowNode = {
    id,
    type: step.type,
    position: {
      x: Math.round((source.position.x + target.position.x) / 2),
      y: Math.round(shift > 0 ? sourceBottom + ROW.gap : (sourceBottom + target.position.y - ROW.height) / 2),
    },
    data: { label: step.label, config: step.config },
    selected: true,
  };
  return {
    id,
    nodes: [
      ...nodes.map((node) => {
        const position = moved.has(node.id) ? { x: node.position.x, y: node.position.y + shift } : node.position;
        return node.selected || position !== node.position ? { ...node, position, selected: false } : node;
      }),
      placed,
    ],
    edges: [
      ...edges.filter((candidate) => candidate.id !== edgeId),
      flowEdge(idFor("e"), edge.source, id, edge.sourceHandle),
      ...(exitBranch ? [flowEdge(idFor("e"), id, edge.target, exitBranch)] : []),
    ],
  };
}

/** `start` and every step reachable from it, except `stop` (a loop back to the source does not move it). */
function following(edges: readonly FlowEdge[], start: string, stop: string): Set<string> {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const edge of edges) {
      if (edge.source === current && edge.target !== stop && !seen.has(edge.target)) {
        seen.add(edge.target);
        queue.push(edge.target);
      }
    }
  }
  return seen;
}

/** Put a palette item on an edge, leaving by its default (or first) branch: one step of history. */
export function insertStepOnEdge(
  // What it needs of the graph store, said here so that the store and this module do not import each other.
  store: { getState(): { insertOnEdge(edgeId: string, step: NewStep, exitBranch: string | null): string | null } },
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>,
  edgeId: string,
  step: NewStep,
): string | null {
  return store.getState().insertOnEdge(edgeId, step, exitBranchOf(nodeTypes.get(step.type), step.config));
}

/** The id of the edge under a point of the screen (its wide, invisible hit area counts), or null. */
export function edgeAtPoint(x: number, y: number): string | null {
  for (const element of document.elementsFromPoint(x, y)) {
    const edge = element.closest(".react-flow__edge");
    if (edge) return edge.getAttribute("data-id");
  }
  return null;
}

/** Show which edge a palette item dragged over the canvas would be inserted on. */
export function markDropTarget(edgeId: string | null): void {
  for (const marked of document.querySelectorAll(".react-flow__edge.drop-target")) {
    if (marked.getAttribute("data-id") !== edgeId) marked.classList.remove("drop-target");
  }
  if (edgeId) document.querySelector(`.react-flow__edge[data-id="${CSS.escape(edgeId)}"]`)?.classList.add("drop-target");
}
