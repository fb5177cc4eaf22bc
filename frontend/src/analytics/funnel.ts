// The funnel of a workflow: its steps in graph order with how many contacts entered each, and what became of them
// between one step and the next. Pure: the analytics page and its tests share it.
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { branchesOf, DEFAULT_BRANCH } from "../canvas/graph";

export interface NodeCounts {
  entered: number;
  succeeded: number;
  failed: number;
  waiting_now: number;
  goal_reached: number;
}

export interface FunnelStep {
  nodeId: string;
  /** The step's name as on the canvas (its label, else its type's). */
  name: string;
  typeLabel: string;
  /** Steps from the trigger: 0 for a trigger. */
  depth: number;
  entered: number;
  waitingNow: number;
  failed: number;
  /** Goal conversions of the contacts that went through the step. */
  goals: number;
  /** Share of all the workflow's entries (0..1), null when nothing entered the workflow. */
  reach: number | null;
  /** The step contacts came from, when there is exactly one. */
  previous: { name: string; entered: number; waitingNow: number; branch: string | null } | null;
  /** How many fewer than the step before entered this one (a chain), null after a branch or a join. */
  dropOff: number | null;
  /** After a branching step: the share of its contacts that took this branch (0..1). */
  branchShare: number | null;
}

export interface Funnel {
  steps: FunnelStep[];
  /** Counted steps that the graph shown does not have (another version's). */
  elsewhere: { nodeId: string; entered: number; waitingNow: number; failed: number }[];
  entries: number;
}

const ZERO: NodeCounts = { entered: 0, succeeded: 0, failed: 0, waiting_now: 0, goal_reached: 0 };

/**
 * Order the graph's steps as a contact meets them: breadth-first from the triggers, each step's exits in the order
 * its type lists its branches (yes before no, variant A before B), so a funnel reads top to bottom like the canvas.
 * Steps no path reaches come last, in the graph's order.
 */
export function graphOrder(graph: GraphJson, types: ReadonlyMap<string, NodeTypeInfo>): { id: string; depth: number }[] {
  const nodes = graph.nodes ?? [];
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const exits = new Map<string, { target: string; branch: string }[]>();
  for (const edge of graph.edges ?? []) {
    if (!byId.has(edge.source) || !byId.has(edge.target)) continue;
    const list = exits.get(edge.source) ?? [];
    list.push({ target: edge.target, branch: edge.sourceHandle ?? DEFAULT_BRANCH });
    exits.set(edge.source, list);
  }
  const hasEntry = new Set((graph.edges ?? []).map((edge) => edge.target));
  // The triggers start every path; a graph without one (unfinished) is read from its steps nothing leads into.
  const triggers = nodes.filter((node) => types.get(node.type)?.kind === "trigger");
  const starts = triggers.length > 0 ? triggers : nodes.filter((node) => !hasEntry.has(node.id));
  const order: { id: string; depth: number }[] = [];
  const seen = new Set<string>();
  const queue = starts.map((node) => ({ id: node.id, depth: 0 }));
  for (const start of queue) seen.add(start.id);
  while (queue.length > 0) {
    const current = queue.shift()!;
    order.push(current);
    const node = byId.get(current.id)!;
    const branchOrder = branchesOf(types.get(node.type), asConfig(node.data?.config)).map((branch) => branch.id);
    const rank = (branch: string) => {
      const index = branchOrder.indexOf(branch);
      return index === -1 ? branchOrder.length : index;
    };
    const next = [...(exits.get(current.id) ?? [])].sort((a, b) => rank(a.branch) - rank(b.branch));
    for (const { target } of next) {
      if (seen.has(target)) continue;
      seen.add(target);
      queue.push({ id: target, depth: current.depth + 1 });
    }
  }
  for (const node of nodes) if (!seen.has(node.id)) order.push({ id: node.id, depth: 0 });
  return order;
}

/** The funnel of `graph` with the counts of `counts` (the analytics' `nodes`, by node id). */
export function buildFunnel(
  graph: GraphJson,
  counts: Readonly<Record<string, NodeCounts>>,
  types: ReadonlyMap<string, NodeTypeInfo>,
): Funnel {
  const nodes = graph.nodes ?? [];
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const order = graphOrder(graph, types);
  const triggers = order.filter((step) => types.get(byId.get(step.id)!.type)?.kind === "trigger");
  const entries = sum(triggers.map((step) => (counts[step.id] ?? ZERO).entered));
  const incoming = new Map<string, { source: string; branch: string }[]>();
  const outgoing = new Map<string, number>();
  for (const edge of graph.edges ?? []) {
    if (!byId.has(edge.source) || !byId.has(edge.target)) continue;
    incoming.set(edge.target, [...(incoming.get(edge.target) ?? []), { source: edge.source, branch: edge.sourceHandle ?? DEFAULT_BRANCH }]);
    outgoing.set(edge.source, (outgoing.get(edge.source) ?? 0) + 1);
  }
  const steps = order.map(({ id, depth }): FunnelStep => {
    const node = byId.get(id)!;
    const info = types.get(node.type);
    const mine = counts[id] ?? ZERO;
    const from = incoming.get(id) ?? [];
    const parent = from.length === 1 ? from[0]! : null;
    const parentCounts = parent ? (counts[parent.source] ?? ZERO) : null;
    const parentBranches = parent ? (outgoing.get(parent.source) ?? 0) : 0;
    const branchLabel = parent && parentBranches > 1 ? branchName(byId.get(parent.source)!, parent.branch, types) : null;
    return {
      nodeId: id,
      name: stepName(node, info),
      typeLabel: info?.label ?? node.type,
      depth,
      entered: mine.entered,
      waitingNow: mine.waiting_now,
      failed: mine.failed,
      goals: mine.goal_reached,
      reach: entries > 0 ? mine.entered / entries : null,
      previous: parent && parentCounts
        ? {
            name: stepName(byId.get(parent.source)!, types.get(byId.get(parent.source)!.type)),
            entered: parentCounts.entered,
            waitingNow: parentCounts.waiting_now,
            branch: branchLabel,
          }
        : null,
      dropOff: parentCounts && parentBranches === 1 ? parentCounts.entered - mine.entered : null,
      branchShare: parentCounts && parentBranches > 1 && parentCounts.entered > 0 ? mine.entered / parentCounts.entered : null,
    };
  });
  const elsewhere = Object.entries(counts)
    .filter(([id]) => !byId.has(id))
    .map(([nodeId, value]) => ({ nodeId, entered: value.entered, waitingNow: value.waiting_now, failed: value.failed }))
    .sort((a, b) => b.entered - a.entered || a.nodeId.localeCompare(b.nodeId));
  return { steps, elsewhere, entries };
}

type GraphNode = NonNullable<GraphJson["nodes"]>[number];

export function stepName(node: GraphNode, info: NodeTypeInfo | undefined): string {
  const label = typeof node.data?.label === "string" ? node.data.label.trim() : "";
  return label || info?.label || node.type;
}

function branchName(node: GraphNode, branch: string, types: ReadonlyMap<string, NodeTypeInfo>): string {
  const found = branchesOf(types.get(node.type), asConfig(node.data?.config)).find((item) => item.id === branch);
  return found?.label || branch;
}

function asConfig(config: unknown): Record<string, unknown> {
  return typeof config === "object" && config !== null ? (config as Record<string, unknown>) : {};
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
