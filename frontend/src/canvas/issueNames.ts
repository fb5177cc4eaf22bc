// The server's findings name nodes by id ("'Welcome' (n3)", "node n3"); people know their steps by type and name.
// These rewrite a finding's text with the names the canvas shows: Send email “Welcome”.
import type { NodeTypeInfo } from "../api/types";
import type { ValidationReport } from "../api/types";
import { sameSteps, type FlowNode } from "./graph";

/** A step as people know it: its type's label and, when it has one, its own name. */
export function nodeName(node: Pick<FlowNode, "type" | "data">, info: NodeTypeInfo | undefined): string {
  const typeLabel = info?.label ?? node.type ?? "Step";
  const own = node.data.label.trim();
  return own && own !== typeLabel ? `${typeLabel} “${own}”` : typeLabel;
}

// How validation names a node (workflows/engine/validation.py `_name`): Python's repr of its label (single quotes,
// or double quotes when the label holds one) then its id in brackets; or "node <id>" when it has no label.
const NAMED_NODE = /(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*") \(([^()\s]+)\)|\bnode ([\w-]+)/g;

/** `message` with each node it names by id named as on the canvas; ids the canvas does not have stay as they are. */
export function namedMessage(
  message: string,
  nodes: readonly Pick<FlowNode, "id" | "type" | "data">[],
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>,
): string {
  return message.replace(NAMED_NODE, (whole, quotedId: string | undefined, bareId: string | undefined) => {
    const node = nodes.find((candidate) => candidate.id === (quotedId ?? bareId));
    return node ? nodeName(node, nodeTypes.get(node.type ?? "")) : whole;
  });
}

// Between the findings in a node's one text (no finding's message contains it).
export const FINDING_SEPARATOR = "\u001e";

let findingsCache: {
  report: ValidationReport;
  nodes: readonly FlowNode[];
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>;
  byNode: ReadonlyMap<string, string>;
} | null = null;

/**
 * Each node's findings as one text ("e…" errors, then "w…" warnings, joined by FINDING_SEPARATOR), with the nodes
 * they name by id named as on the canvas. Every drawn node asks on every store update (a drag's every frame), so
 * the answer is kept while the report and the steps (apart from their positions) stay the same.
 */
export function findingsByNode(
  report: ValidationReport,
  nodes: readonly FlowNode[],
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>,
): ReadonlyMap<string, string> {
  const cached = findingsCache;
  if (cached && cached.report === report && cached.nodeTypes === nodeTypes && sameSteps(cached.nodes, nodes)) {
    cached.nodes = nodes;
    return cached.byNode;
  }
  const lines = new Map<string, string[]>();
  const add = (level: string, list: ValidationReport["errors"]) => {
    for (const issue of list) {
      if (!issue.node_id) continue;
      const text = `${level}${namedMessage(issue.message, nodes, nodeTypes)}`;
      lines.set(issue.node_id, [...(lines.get(issue.node_id) ?? []), text]);
    }
  };
  add("e", report.errors);
  add("w", report.warnings);
  const byNode = new Map([...lines].map(([id, texts]) => [id, texts.join(FINDING_SEPARATOR)]));
  findingsCache = { report, nodes, nodeTypes, byNode };
  return byNode;
}
