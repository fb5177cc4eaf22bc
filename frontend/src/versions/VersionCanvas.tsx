import { useEffect, useMemo, useState, type ReactNode } from "react";
import { applyNodeChanges, Background, Controls, MiniMap, ReactFlow, type NodeChange, type NodeTypes } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { CanvasContext } from "../canvas/CanvasContext";
import { FlowNode } from "../canvas/FlowNode";
import { fromGraphJson, type FlowNode as FlowNodeModel } from "../canvas/graph";
import { createGraphStore } from "../canvas/graphStore";
import { markEdges, markNodes, type PathHighlight } from "../testmode/highlight";
import { TestRunBadges } from "../testmode/TestRunBadges";
import "../testmode/testmode.css";
import type { EdgeStatus, NodeStatus } from "./diffCanvas";
import { stepName } from "./describeDiff";
import "./versions.css";

const STATUS_WORDS: Record<NodeStatus | EdgeStatus, string> = {
  added: "added",
  removed: "removed",
  changed: "changed",
  moved: "moved",
  rebranched: "moved to another branch",
  same: "",
};

interface VersionCanvasProps {
  graph: GraphJson;
  nodeTypes: NodeTypeInfo[];
  /** Said to screen readers as the canvas's name: "Version 3, read-only". */
  label: string;
  nodeStatus?: ReadonlyMap<string, NodeStatus>;
  edgeStatus?: ReadonlyMap<string, EdgeStatus>;
  /** A run's path, painted as test mode paints one (an execution's "Show on canvas"). */
  path?: PathHighlight | null;
  /** Drawn inside the canvas (React Flow panels and node toolbars: a version's counts). */
  children?: ReactNode;
}

/**
 * A graph drawn as the editor draws it (the same node component), with nothing to edit: no dragging, connecting,
 * selecting or deleting. In a diff, each step and connection is marked with its status (a class and its name).
 */
export function VersionCanvas({ graph, nodeTypes, label, nodeStatus, edgeStatus, path = null, children }: VersionCanvasProps) {
  const types = useMemo(() => new Map(nodeTypes.map((info) => [info.type, info])), [nodeTypes]);
  // The node component reads the canvas context (types, validation): a store of its own, never edited.
  const [store] = useState(() => createGraphStore());
  const context = useMemo(() => ({ store, nodeTypes: types, readOnly: true }), [store, types]);
  const flowNodeTypes = useMemo<NodeTypes>(
    () => Object.fromEntries(nodeTypes.map((info) => [info.type, FlowNode])),
    [nodeTypes],
  );
  const { nodes, edges } = useMemo(() => {
    const flow = fromGraphJson(graph);
    const byId = new Map((graph.nodes ?? []).map((node) => [node.id, node]));
    const nodes = flow.nodes.map((node) => {
      const status = nodeStatus?.get(node.id) ?? "same";
      const name = stepName(byId.get(node.id)!, types);
      return {
        ...node,
        className: `diff-node diff-${status}`,
        ariaLabel: [status === "same" ? name : `${name}: ${STATUS_WORDS[status]}`, pathWords(path, node.id)]
          .filter(Boolean)
          .join(", "),
      };
    });
    const edges = flow.edges.map((edge) => {
      const status = edgeStatus?.get(edge.id) ?? "same";
      return { ...edge, className: `diff-edge diff-edge-${status}`, ariaLabel: STATUS_WORDS[status] || undefined };
    });
    return { nodes: markNodes(nodes, path), edges: markEdges(edges, path) };
  }, [graph, nodeStatus, edgeStatus, types, path]);
  // Only the measured sizes flow back in (the minimap draws steps from them); nothing else can change here.
  const [shownNodes, setShownNodes] = useState<FlowNodeModel[]>(nodes);
  useEffect(() => setShownNodes(nodes), [nodes]);
  const onNodesChange = (changes: NodeChange<FlowNodeModel>[]) => {
    const sizes = changes.filter((change) => change.type === "dimensions");
    if (sizes.length > 0) setShownNodes((current) => applyNodeChanges(sizes, current));
  };
  return (
    <CanvasContext.Provider value={context}>
      <div className="version-canvas" role="region" aria-label={label} data-read-only="true">
        <ReactFlow
          nodes={shownNodes}
          edges={edges}
          onNodesChange={onNodesChange}
          nodeTypes={flowNodeTypes}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          edgesFocusable={false}
          deleteKeyCode={null}
          fitView
          fitViewOptions={{ maxZoom: 1 }}
        >
          <Background />
          <MiniMap pannable zoomable ariaLabel={`Overview of ${label}`} />
          <Controls showInteractive={false} />
          <TestRunBadges highlight={path} />
          {children}
        </ReactFlow>
      </div>
    </CanvasContext.Provider>
  );
}

/** What a painted path says of a step to a screen reader: which steps of the run it was, or that it was not run. */
function pathWords(path: PathHighlight | null, nodeId: string): string {
  if (!path) return "";
  const visits = path.visitsByNode.get(nodeId);
  if (!visits) return "not run";
  const failed = visits.some((visit) => visit.steps.some((step) => step.outcome === "fail"));
  return `step ${visits.map((visit) => visit.number).join(" and ")} of the run${failed ? ", failed here" : ""}`;
}
