// Conversions between the draft's JSON (CONTRACT §5 "Graph", React Flow's own shape) and the canvas's nodes and
// edges, and the branch rules every node type shares: nothing here is written per node type.
import type { GraphJson, NodeTypeInfo, ValidationReport } from "../api/types";
import { isNote, noteJson, noteNode } from "./notes";

export const DEFAULT_BRANCH = "default";

export type { FlowEdge, FlowNode, FlowNodeData } from "./flowTypes";
import type { FlowEdge, FlowNode } from "./flowTypes";

export interface Branch {
  id: string;
  label: string;
}

export function fromGraphJson(graph: GraphJson): { nodes: FlowNode[]; edges: FlowEdge[] } {
  // The API lets a graph leave out positions, data and branches (each has a default): the canvas fills them in.
  // Sticky notes are nodes of the canvas too (moved, resized, deleted and undone like steps), drawn first: below.
  return {
    nodes: [
      ...(graph.notes ?? []).map(noteNode),
      ...(graph.nodes ?? []).map((node) => ({
        id: node.id,
        type: node.type,
        position: { x: node.position?.x ?? 0, y: node.position?.y ?? 0 },
        data: { ...node.data, label: node.data?.label ?? "", config: node.data?.config ?? {} },
      })),
    ],
    edges: (graph.edges ?? []).map((edge) => flowEdge(edge.id, edge.source, edge.target, edge.sourceHandle)),
  };
}

/** The draft's JSON as the canvas writes it: every node and edge, and the notes when there are some. */
export type DraftGraphJson = Required<Pick<GraphJson, "nodes" | "edges">> & Pick<GraphJson, "notes">;

export function toGraphJson(
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
): DraftGraphJson {
  const steps = nodes.filter((node) => !isNote(node));
  const notes = nodes.filter(isNote).map(noteJson);
  return {
    // Left out when there are none, as the server answers it: a graph without notes reads as it always did.
    ...(notes.length > 0 && { notes }),
    nodes: steps.map((node) => ({
      id: node.id,
      type: node.type ?? "",
      position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
      data: { ...node.data },
    })),
    edges: edges.map((edge) => ({
      id: edge.id,
      source: edge.source,
      target: edge.target,
      sourceHandle: edge.sourceHandle ?? DEFAULT_BRANCH,
    })),
  };
}

export function flowEdge(id: string, source: string, target: string, branch: string | null | undefined): FlowEdge {
  const sourceHandle = branch ?? DEFAULT_BRANCH;
  return {
    id,
    source,
    target,
    sourceHandle,
    ...(sourceHandle !== DEFAULT_BRANCH && { label: sourceHandle }),
  };
}

/**
 * The branches a node can leave by: the type's list, or for "dynamic" types what its `branch_source` names: the ids
 * of the items of one list of the config (a switch's cases, a split's variants), labelled with their label, then
 * the branches every such node has (a switch's `default`).
 */
export function branchesOf(info: NodeTypeInfo | undefined, config: Record<string, unknown>): Branch[] {
  if (!info) return [{ id: DEFAULT_BRANCH, label: "" }];
  if (info.branches !== "dynamic") {
    return info.branches.map((id) => ({ id, label: id === DEFAULT_BRANCH ? "" : id }));
  }
  const source = info.branch_source;
  // A server from before branch_source: any list of objects with ids, as well as can be guessed.
  const lists = source ? [config[source.items]] : Object.values(config);
  const idKey = source?.id ?? "id";
  const labelKey = source?.label ?? "label";
  const branches: Branch[] = [];
  const add = (id: string, label: string) => {
    if (!branches.some((branch) => branch.id === id)) branches.push({ id, label });
  };
  for (const value of lists) {
    if (!Array.isArray(value)) continue;
    for (const item of value) {
      if (typeof item !== "object" || item === null) continue;
      const id = (item as Record<string, unknown>)[idKey];
      const label = (item as Record<string, unknown>)[labelKey];
      if (typeof id === "string" && id) add(id, typeof label === "string" && label ? label : id);
    }
  }
  for (const id of source?.always ?? []) add(id, id);
  return branches;
}

/** Say why `source`'s branch cannot take another edge, or return null when it can. */
export function branchTaken(
  edges: readonly FlowEdge[],
  source: string,
  branch: string | null | undefined,
): string | null {
  const wanted = branch ?? DEFAULT_BRANCH;
  const taken = edges.some((edge) => edge.source === source && (edge.sourceHandle ?? DEFAULT_BRANCH) === wanted);
  if (!taken) return null;
  const which = wanted === DEFAULT_BRANCH ? "This step's exit" : `The “${wanted}” branch`;
  return `${which} already leads to another step. Delete that connection first, then connect it again.`;
}

/** A random id for a new node or edge (the draft keeps ids as given; crypto.randomUUID needs HTTPS). */
export function newId(prefix: string): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return `${prefix}_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** Mark the edges the server's findings name, with the finding as their label (errors before warnings). */
export function withIssues(edges: FlowEdge[], report: ValidationReport | null): FlowEdge[] {
  if (!report) return edges;
  const named = new Map<string, { message: string; level: "error" | "warning" }>();
  for (const issue of report.warnings) if (issue.edge_id) named.set(issue.edge_id, { message: issue.message, level: "warning" });
  for (const issue of report.errors) if (issue.edge_id) named.set(issue.edge_id, { message: issue.message, level: "error" });
  if (named.size === 0) return edges;
  return edges.map((edge) => {
    const issue = named.get(edge.id);
    return issue ? { ...edge, label: issue.message, className: `edge-${issue.level}`, ariaLabel: issue.message } : edge;
  });
}

/** What Copy keeps: selected steps and the edges between them, in the draft's own JSON (so any workflow takes it). */
export interface CopiedSteps {
  nodes: Required<GraphJson>["nodes"];
  edges: Required<GraphJson>["edges"];
}

export function copySelection(nodes: readonly FlowNode[], edges: readonly FlowEdge[]): CopiedSteps | null {
  // Notes belong to their workflow's canvas: Copy takes the steps.
  const chosen = nodes.filter((node) => node.selected && !isNote(node));
  if (chosen.length === 0) return null;
  const ids = new Set(chosen.map((node) => node.id));
  const inside = edges.filter((edge) => ids.has(edge.source) && ids.has(edge.target));
  const { nodes: steps, edges: between } = toGraphJson(chosen, inside);
  return { nodes: steps, edges: between };
}

/** Copies of the copied steps with fresh ids, moved by `offset`, selected; their edges follow the new ids. */
export function pastedSteps(
  copied: CopiedSteps,
  offset: { x: number; y: number },
  idFor: (prefix: string) => string = newId,
): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const ids = new Map(copied.nodes.map((node) => [node.id, idFor("n")]));
  const { nodes, edges } = fromGraphJson({ nodes: copied.nodes, edges: copied.edges });
  return {
    nodes: nodes.map((node) => ({
      ...node,
      id: ids.get(node.id)!,
      position: { x: node.position.x + offset.x, y: node.position.y + offset.y },
      selected: true,
    })),
    edges: edges.flatMap((edge) => {
      const source = ids.get(edge.source);
      const target = ids.get(edge.target);
      return source && target ? [flowEdge(idFor("e"), source, target, edge.sourceHandle)] : [];
    }),
  };
}

const CLIPBOARD_KEY = "penguinflow.builder.copied-steps";

/** Keep copied steps where any workflow's canvas finds them (this browser's storage for this site). */
export function storeCopied(copied: CopiedSteps, storage: Storage = localStorage): void {
  storage.setItem(CLIPBOARD_KEY, JSON.stringify(copied));
}

export function readCopied(storage: Storage = localStorage): CopiedSteps | null {
  try {
    const value = JSON.parse(storage.getItem(CLIPBOARD_KEY) ?? "null") as CopiedSteps | null;
    return value && Array.isArray(value.nodes) && Array.isArray(value.edges) ? value : null;
  } catch {
    return null;
  }
}

/** Whether two node lists hold the same steps in the same order, with the same type and data (by reference). */
export function sameSteps(a: readonly FlowNode[], b: readonly FlowNode[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) {
    const before = a[index]!;
    const after = b[index]!;
    if (before.id !== after.id || before.type !== after.type || before.data !== after.data) return false;
  }
  return true;
}
