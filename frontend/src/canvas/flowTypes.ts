// The canvas's nodes and edges as React Flow holds them: a module of types only, which the graph's conversions and
// the sticky notes both build on without importing each other.
import type { Edge, Node } from "@xyflow/react";

export interface FlowNodeData extends Record<string, unknown> {
  label: string;
  config: Record<string, unknown>;
}

export type FlowNode = Node<FlowNodeData>;
export type FlowEdge = Edge;
