// Simple mode's model: a branchless workflow read as a list of steps (a chain from the trigger along `default`
// edges), and list edits written as graph edits. The graph stays the one source of truth: the list is derived
// from it on every render, and each edit here answers the whole next graph, which the store applies as one step.
import type { NodeTypeInfo } from "../api/types";
import { DEFAULT_BRANCH, flowEdge, newId, type FlowEdge, type FlowNode } from "../canvas/graph";
import { isNote } from "../canvas/notes";

/** How a step leaves: by its one exit, not at all (it ends the workflow), or by branches only a graph can show. */
export type StepShape = "linear" | "terminal" | "branching";

export interface Graph {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export type ChainResult = { ok: true; steps: string[] } | { ok: false; reason: string };

/** Vertical distance between two steps laid out as a list: a node's height and a gap, as a tidy-up would leave. */
export const STEP_GAP_Y = 150;

export function stepShape(info: Pick<NodeTypeInfo, "branches"> | undefined): StepShape {
  // An unknown type is shown as a plain step; the server's validation says what is wrong with it.
  if (!info) return "linear";
  if (info.branches === "dynamic") return "branching";
  if (info.branches.length === 0) return "terminal";
  return info.branches.length === 1 && info.branches[0] === DEFAULT_BRANCH ? "linear" : "branching";
}

export interface ChainTypes {
  shapeOf: (type: string) => StepShape;
  isTrigger: (type: string) => boolean;
}

export function chainTypes(nodeTypes: ReadonlyMap<string, NodeTypeInfo>): ChainTypes {
  return {
    shapeOf: (type) => stepShape(nodeTypes.get(type)),
    isTrigger: (type) => nodeTypes.get(type)?.kind === "trigger",
  };
}

function named(node: FlowNode): string {
  return `“${node.data.label || node.type}”`;
}

/**
 * Read the graph as a list of steps from its start, or say in words why it is not one (the reason is shown to
 * the user beside the disabled Simple button, and when the editor switches to the graph by itself). Sticky notes
 * are no steps: the list leaves them out, and its edits (which keep every node they do not touch) keep them.
 */
export function chainOf(graph: Graph, types: ChainTypes): ChainResult {
  const nodes = graph.nodes.filter((node) => !isNote(node));
  const { edges } = graph;
  if (nodes.length === 0) return { ok: true, steps: [] };
  const triggers = nodes.filter((node) => types.isTrigger(node.type ?? ""));
  if (triggers.length > 1) {
    return { ok: false, reason: `The workflow has ${triggers.length} triggers; a list starts from one.` };
  }
  const branching = nodes.find((node) => types.shapeOf(node.type ?? "") === "branching");
  if (branching) return { ok: false, reason: `${named(branching)} has branches, which only the graph can show.` };
  const byId = new Map(nodes.map((node) => [node.id, node]));
  if (edges.some((edge) => !byId.has(edge.source) || !byId.has(edge.target))) {
    return { ok: false, reason: "A connection leads to or from a step that does not exist." };
  }
  const offBranch = edges.find((edge) => (edge.sourceHandle ?? DEFAULT_BRANCH) !== DEFAULT_BRANCH);
  if (offBranch) {
    return { ok: false, reason: `A connection leaves ${named(byId.get(offBranch.source)!)} by “${offBranch.sourceHandle}”, not by its one exit.` };
  }
  const start = startOf(nodes, edges, triggers[0]);
  if (typeof start === "string") return { ok: false, reason: start };
  return walk(start, byId, edges, types);
}

function startOf(nodes: FlowNode[], edges: FlowEdge[], trigger: FlowNode | undefined): FlowNode | string {
  if (trigger) return trigger;
  const entered = new Set(edges.map((edge) => edge.target));
  const starts = nodes.filter((node) => !entered.has(node.id));
  if (starts.length === 0) return "Every step has a step before it: the steps go round in a loop.";
  if (starts.length > 1) return `${starts.length} steps have no step before them; a list has one first step.`;
  return starts[0]!;
}

function walk(start: FlowNode, byId: Map<string, FlowNode>, edges: FlowEdge[], types: ChainTypes): ChainResult {
  // Edges by end, once: a long list is read on every change of the graph (a drag included), so no quadratic walk.
  const incoming = groupedBy(edges, (edge) => edge.target);
  const outgoing = groupedBy(edges, (edge) => edge.source);
  const steps: string[] = [];
  const seen = new Set<string>();
  let current: FlowNode | undefined = start;
  while (current) {
    if (seen.has(current.id)) return { ok: false, reason: `The steps loop back to ${named(current)}.` };
    seen.add(current.id);
    steps.push(current.id);
    const entries = incoming.get(current.id)?.length ?? 0;
    if (entries > 1) return { ok: false, reason: `${named(current)} is reached from ${entries} steps.` };
    const exits: FlowEdge[] = outgoing.get(current.id) ?? [];
    if (exits.length > 1) return { ok: false, reason: `${named(current)} leads to ${exits.length} steps.` };
    if (exits.length === 1 && types.shapeOf(current.type ?? "") === "terminal") {
      return { ok: false, reason: `${named(current)} ends the workflow, yet a step follows it.` };
    }
    current = exits[0] ? byId.get(exits[0].target) : undefined;
  }
  const left = byId.size - steps.length;
  if (left > 0) {
    const loose = [...byId.values()].find((node) => !seen.has(node.id))!;
    return {
      ok: false,
      reason: left === 1
        ? `${named(loose)} is not connected to the other steps.`
        : `${left} steps, such as ${named(loose)}, are not connected to the first one.`,
    };
  }
  return { ok: true, steps };
}

function groupedBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Connect the steps in this order by their `default` exits, keeping the ids of connections that stay. */
function wired(order: readonly string[], edges: readonly FlowEdge[], idFor: (prefix: string) => string): FlowEdge[] {
  const inOrder = new Set(order);
  const others = edges.filter((edge) => !inOrder.has(edge.source) && !inOrder.has(edge.target));
  const links = order.slice(1).map((target, index) => {
    const source = order[index]!;
    const kept = edges.find((edge) => edge.source === source && edge.target === target);
    return kept ?? flowEdge(idFor("e"), source, target, DEFAULT_BRANCH);
  });
  return [...others, ...links];
}

/** Stack the steps in list order under the first one, so the graph view reads top-down like the list. */
export function stacked(nodes: readonly FlowNode[], order: readonly string[]): FlowNode[] {
  const first = nodes.find((node) => node.id === order[0]);
  const origin = first?.position ?? { x: 0, y: 0 };
  const rank = new Map(order.map((id, index) => [id, index]));
  return nodes.map((node) => {
    const index = rank.get(node.id);
    if (index === undefined) return node;
    const position = { x: origin.x, y: origin.y + index * STEP_GAP_Y };
    return node.position.x === position.x && node.position.y === position.y ? node : { ...node, position };
  });
}

export interface NewStep {
  type: string;
  label: string;
  config: Record<string, unknown>;
}

/**
 * Insert a step at `index` of the list (0 = first, steps.length = last) and wire it between its neighbours.
 * A step with branches takes its previous neighbour's exit, and leads on to the next one by `exitBranch` (the
 * first of its branches), or to nothing when it has none yet: the graph editor is where it gets wired further.
 */
export function insertStep(
  graph: Graph,
  steps: readonly string[],
  index: number,
  step: NewStep,
  exitBranch: string | null = DEFAULT_BRANCH,
  idFor: (prefix: string) => string = newId,
): Graph & { id: string } {
  const at = Math.max(0, Math.min(index, steps.length));
  const id = idFor("n");
  const node: FlowNode = { id, type: step.type, position: { x: 0, y: 0 }, data: { label: step.label, config: step.config } };
  const order = [...steps.slice(0, at), id, ...steps.slice(at)];
  const nodes = [...graph.nodes, node];
  if (exitBranch === DEFAULT_BRANCH) {
    return { id, nodes: stacked(nodes, order), edges: wired(order, graph.edges, idFor) };
  }
  const previous = steps[at - 1];
  const next = steps[at];
  const edges = graph.edges.filter((edge) => !(edge.source === previous && edge.target === next));
  if (previous) edges.push(flowEdge(idFor("e"), previous, id, DEFAULT_BRANCH));
  if (next && exitBranch) edges.push(flowEdge(idFor("e"), id, next, exitBranch));
  return { id, nodes: stacked(nodes, order), edges };
}

/** Move the step at `from` to `to` (both list positions) and rewire the list in its new order. */
export function moveStep(
  graph: Graph,
  steps: readonly string[],
  from: number,
  to: number,
  idFor: (prefix: string) => string = newId,
): Graph {
  const moving = steps[from];
  if (moving === undefined || to < 0 || to >= steps.length || to === from) return graph;
  const order = steps.filter((_, index) => index !== from);
  order.splice(to, 0, moving);
  return { nodes: stacked(graph.nodes, order), edges: wired(order, graph.edges, idFor) };
}

/** Remove the step at `index`; the steps before and after it are connected to each other. */
export function removeStep(
  graph: Graph,
  steps: readonly string[],
  index: number,
  idFor: (prefix: string) => string = newId,
): Graph {
  const removed = steps[index];
  if (removed === undefined) return graph;
  const order = steps.filter((_, position) => position !== index);
  const nodes = graph.nodes.filter((node) => node.id !== removed);
  const edges = graph.edges.filter((edge) => edge.source !== removed && edge.target !== removed);
  return { nodes: stacked(nodes, order), edges: wired(order, edges, idFor) };
}

/**
 * Whether the step at `index` may move to `to`: a trigger stays first, and nothing goes above it; a step that
 * ends the workflow stays last, and nothing goes below it.
 */
export function canMove(
  nodes: readonly FlowNode[],
  steps: readonly string[],
  index: number,
  to: number,
  types: ChainTypes,
): boolean {
  if (to < 0 || to >= steps.length || to === index) return false;
  const typeAt = (position: number) => nodes.find((node) => node.id === steps[position])?.type ?? "";
  const pinned = (position: number) =>
    (position === 0 && types.isTrigger(typeAt(0))) ||
    (position === steps.length - 1 && types.shapeOf(typeAt(position)) === "terminal");
  return !pinned(index) && !pinned(to);
}

/** What may be added at list position `index`: a trigger only at the top of a list without one; an end only last. */
export function slotAccepts(
  nodes: readonly FlowNode[],
  steps: readonly string[],
  index: number,
  types: ChainTypes,
): { triggers: boolean; steps: boolean; ends: boolean } {
  const typeAt = (position: number) => nodes.find((node) => node.id === steps[position])?.type ?? "";
  const hasTrigger = steps.length > 0 && types.isTrigger(typeAt(0));
  const endsAlready = steps.length > 0 && types.shapeOf(typeAt(steps.length - 1)) === "terminal";
  if (index === 0 && !hasTrigger) return { triggers: true, steps: steps.length > 0, ends: false };
  if (index === 0 || (endsAlready && index === steps.length)) return { triggers: false, steps: false, ends: false };
  return { triggers: false, steps: true, ends: index === steps.length };
}
