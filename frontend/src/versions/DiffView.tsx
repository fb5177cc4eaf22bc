import { useCallback, useMemo } from "react";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import type { NodeTypeInfo } from "../api/types";
import { ChangeList } from "./ChangeList";
import { stepName } from "./describeDiff";
import { diffCanvas, type EdgeStatus, type NodeStatus } from "./diffCanvas";
import type { Snapshot } from "./graphDiff";
import { VersionCanvas } from "./VersionCanvas";

interface DiffViewProps {
  before: Snapshot;
  after: Snapshot;
  /** "Version 1", "Your canvas": the sides as the heading names them. */
  beforeName: string;
  afterName: string;
  nodeTypes: NodeTypeInfo[];
}

/** Two graphs compared: the newer drawn with colours (removed steps as ghosts) beside the list of changes. */
export function DiffView(props: DiffViewProps) {
  return (
    <ReactFlowProvider>
      <DiffBody {...props} />
    </ReactFlowProvider>
  );
}

function DiffBody({ before, after, beforeName, afterName, nodeTypes }: DiffViewProps) {
  const flow = useReactFlow();
  const types = useMemo(() => new Map(nodeTypes.map((info) => [info.type, info])), [nodeTypes]);
  const canvas = useMemo(() => diffCanvas(before, after), [before, after]);
  const nodeStatus = useMemo(() => new Map<string, NodeStatus>(canvas.nodes.map((n) => [n.id, n.status])), [canvas]);
  const edgeStatus = useMemo(() => new Map<string, EdgeStatus>(canvas.edges.map((e) => [e.id, e.status])), [canvas]);
  const graph = useMemo(() => ({ nodes: canvas.nodes, edges: canvas.edges }), [canvas]);
  const nameOf = useCallback(
    (id: string) => {
      const node = canvas.nodes.find((item) => item.id === id);
      return node ? stepName(node, types) : id;
    },
    [canvas, types],
  );
  const show = useCallback(
    (id: string) => void flow.fitView({ nodes: [{ id }], maxZoom: 1.2, duration: 300 }),
    [flow],
  );
  const title = `${beforeName} → ${afterName}`;
  return (
    <div className="diff-view">
      <VersionCanvas
        graph={graph}
        nodeTypes={nodeTypes}
        label={`Differences, ${title}, read-only`}
        nodeStatus={nodeStatus}
        edgeStatus={edgeStatus}
      />
      <ChangeList diff={canvas.diff} types={types} title={title} onShow={show} nameOf={nameOf} />
    </div>
  );
}
