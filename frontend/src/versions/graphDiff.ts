// What changed between two graphs of one workflow (a published version, the draft, someone else's draft): pure
// logic, no React. Steps are matched by id; connections by what they join (source, branch, target), not by id,
// because reconnecting a step gives the new connection a new id although nothing else changed.
import type { GraphEdgeJson, GraphJson, GraphNodeJson } from "../api/types";

export interface Snapshot {
  graph: GraphJson;
  settings?: Record<string, unknown>;
}

/** One field that differs: a dotted path (`config.template_id`, `label`, `reenrollment.mode`) and its values. */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface NodeChange {
  id: string;
  before: GraphNodeJson;
  after: GraphNodeJson;
  fields: FieldChange[];
}

export interface NodeMove {
  id: string;
  before: { x: number; y: number };
  after: { x: number; y: number };
}

export interface EdgeRebranch {
  before: GraphEdgeJson;
  after: GraphEdgeJson;
}

export interface GraphDiff {
  addedNodes: GraphNodeJson[];
  removedNodes: GraphNodeJson[];
  changedNodes: NodeChange[];
  /** Steps whose only difference is their place on the canvas: shown apart, never counted as changes. */
  movedNodes: NodeMove[];
  addedEdges: GraphEdgeJson[];
  removedEdges: GraphEdgeJson[];
  /** Same two steps joined, from another branch of the source (a condition's `yes` became `no`). */
  rebranchedEdges: EdgeRebranch[];
  settings: FieldChange[];
}

const DEFAULT_BRANCH = "default";

export function diffGraphs(before: Snapshot, after: Snapshot): GraphDiff {
  const nodes = diffNodes(before.graph.nodes ?? [], after.graph.nodes ?? []);
  const edges = diffEdges(before.graph.edges ?? [], after.graph.edges ?? []);
  return { ...nodes, ...edges, settings: fieldChanges(before.settings ?? {}, after.settings ?? {}) };
}

/** Whether anything a contact would notice changed: moves on the canvas do not count. */
export function hasChanges(diff: GraphDiff): boolean {
  return changeCount(diff) > 0;
}

export function changeCount(diff: GraphDiff): number {
  return (
    diff.addedNodes.length +
    diff.removedNodes.length +
    diff.changedNodes.length +
    diff.addedEdges.length +
    diff.removedEdges.length +
    diff.rebranchedEdges.length +
    diff.settings.length
  );
}

/** Whether the two graphs differ at all, moves included (a publish of a tidied-up layout is still a publish). */
export function hasAnyDifference(diff: GraphDiff): boolean {
  return hasChanges(diff) || diff.movedNodes.length > 0;
}

function diffNodes(before: GraphNodeJson[], after: GraphNodeJson[]) {
  const old = new Map(before.map((node) => [node.id, node]));
  const current = new Set(after.map((node) => node.id));
  const result = {
    addedNodes: [] as GraphNodeJson[],
    removedNodes: before.filter((node) => !current.has(node.id)),
    changedNodes: [] as NodeChange[],
    movedNodes: [] as NodeMove[],
  };
  for (const node of after) {
    const previous = old.get(node.id);
    if (!previous) {
      result.addedNodes.push(node);
      continue;
    }
    const fields = nodeFieldChanges(previous, node);
    if (fields.length > 0) result.changedNodes.push({ id: node.id, before: previous, after: node, fields });
    else if (!samePosition(previous, node)) {
      result.movedNodes.push({ id: node.id, before: positionOf(previous), after: positionOf(node) });
    }
  }
  return result;
}

function nodeFieldChanges(before: GraphNodeJson, after: GraphNodeJson): FieldChange[] {
  const changes: FieldChange[] = [];
  if (before.type !== after.type) changes.push({ path: "type", before: before.type, after: after.type });
  const labelBefore = before.data?.label ?? "";
  const labelAfter = after.data?.label ?? "";
  if (labelBefore !== labelAfter) changes.push({ path: "label", before: labelBefore, after: labelAfter });
  const config = fieldChanges(configOf(before), configOf(after), "config");
  return [...changes, ...config];
}

function configOf(node: GraphNodeJson): Record<string, unknown> {
  return (node.data?.config as Record<string, unknown> | undefined) ?? {};
}

function positionOf(node: GraphNodeJson): { x: number; y: number } {
  return { x: node.position?.x ?? 0, y: node.position?.y ?? 0 };
}

function samePosition(a: GraphNodeJson, b: GraphNodeJson): boolean {
  // The canvas saves rounded positions; a sub-pixel difference is no move.
  const [pa, pb] = [positionOf(a), positionOf(b)];
  return Math.round(pa.x) === Math.round(pb.x) && Math.round(pa.y) === Math.round(pb.y);
}

function branchOf(edge: GraphEdgeJson): string {
  return edge.sourceHandle ?? DEFAULT_BRANCH;
}

function diffEdges(before: GraphEdgeJson[], after: GraphEdgeJson[]) {
  const exact = (edge: GraphEdgeJson) => `${edge.source}\u0000${branchOf(edge)}\u0000${edge.target}`;
  const ends = (edge: GraphEdgeJson) => `${edge.source}\u0000${edge.target}`;
  const unmatchedBefore = withoutMatches(before, after, exact);
  const unmatchedAfter = withoutMatches(after, before, exact);
  // What is left on both sides and joins the same two steps is one connection moved to another branch.
  const rebranchedEdges: EdgeRebranch[] = [];
  const removedEdges: GraphEdgeJson[] = [];
  const candidates = [...unmatchedAfter];
  for (const edge of unmatchedBefore) {
    const index = candidates.findIndex((other) => ends(other) === ends(edge));
    if (index >= 0) rebranchedEdges.push({ before: edge, after: candidates.splice(index, 1)[0]! });
    else removedEdges.push(edge);
  }
  return { addedEdges: candidates, removedEdges, rebranchedEdges };
}

/** The items of `items` left once each is paired with an unpaired item of `others` under the same key. */
function withoutMatches<T>(items: T[], others: T[], key: (item: T) => string): T[] {
  const available = new Map<string, number>();
  for (const other of others) available.set(key(other), (available.get(key(other)) ?? 0) + 1);
  return items.filter((item) => {
    const left = available.get(key(item)) ?? 0;
    if (left === 0) return true;
    available.set(key(item), left - 1);
    return false;
  });
}

/**
 * The leaves that differ between two JSON values, by dotted path (`window.days`, `cases.0.rule`). Objects are
 * walked key by key; a list is compared whole unless both sides are lists of objects (cases, variants), which
 * are walked item by item so a changed case says which field of it changed.
 */
export function fieldChanges(before: unknown, after: unknown, prefix = ""): FieldChange[] {
  if (sameJson(before, after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => fieldChanges(before[key], after[key], join(prefix, key)));
  }
  if (Array.isArray(before) && Array.isArray(after) && [...before, ...after].every(isPlainObject)) {
    const length = Math.max(before.length, after.length);
    return Array.from({ length }, (_, index) =>
      fieldChanges(before[index], after[index], join(prefix, String(index))),
    ).flat();
  }
  return [{ path: prefix, before, after }];
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Equal as JSON, whatever the order of object keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    isPlainObject(item) ? Object.fromEntries(Object.entries(item).sort(([x], [y]) => x.localeCompare(y))) : item,
  ) ?? "undefined";
}
