// The server's findings name nodes by id ("'Welcome' (n3)", "node n3"); people know their steps by type and name.
// These rewrite a finding's text with the names the canvas shows: Send email “Welcome”.
import type { NodeTypeInfo } from "../api/types";
import type { FlowNode } from "./graph";

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
