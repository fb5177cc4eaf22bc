import { useCallback, useMemo, useState, type DragEvent, type ReactNode } from "react";
import {
  Controls,
  ReactFlow,
  type Connection,
  type EdgeTypes,
  type NodeTypes,
  type ReactFlowInstance,
} from "@xyflow/react";
import { markEdges, markNodes, type PathHighlight } from "../testmode/highlight";
import { TestRunBadges } from "../testmode/TestRunBadges";
import { useCanvas, useGraph } from "./CanvasContext";
import type { FlowEdge, FlowNode } from "./graph";
import { withIssues } from "./graph";
import {
  EdgeInsertContext, EdgeLabelLayerContext, EdgeLabelLayerFinder, InsertableEdge, withLabelMarks,
} from "./InsertableEdge";
import { edgeAtPoint, markDropTarget } from "./insertOnEdge";
import { useNodeChanges } from "./dragMoves";
import { fitStoppedAtMinZoom, MIN_ZOOM, openingNodeId } from "./openingView";
import { Overview } from "./Overview";
import { StillBackground } from "./StillBackground";
import { useNamedEdges } from "./useNamedEdges";

// Every edge is drawn with a "+" to insert a step on it.
const EDGE_TYPES: EdgeTypes = { default: InsertableEdge };
const DELETE_KEYS = ["Backspace", "Delete"];

interface FlowCanvasProps {
  nodeTypes: NodeTypes;
  edgeInsert: React.ContextType<typeof EdgeInsertContext>;
  onHoverEdge: (edgeId: string | null) => void;
  onConnect: (connection: Connection) => void;
  onDrop: (event: DragEvent) => void;
  testPath: PathHighlight | null;
  viewReady: boolean;
  onViewReady: () => void;
  /** A viewer's canvas: steps neither move nor connect nor delete; selecting one opens its settings to read. */
  readOnly: boolean;
  /** Drawn inside React Flow (panels, node toolbars: the steps' counts). */
  children?: ReactNode;
}

/** Fit the draft into the view, or, when it does not fit at the smallest zoom, show where its flow starts. */
async function openView(
  instance: ReactFlowInstance<FlowNode, FlowEdge>,
  { nodes, edges }: { nodes: FlowNode[]; edges: FlowEdge[] },
): Promise<void> {
  if (nodes.length === 0) return;
  await instance.fitView({ maxZoom: 1 });
  if (!fitStoppedAtMinZoom(instance.getZoom())) return;
  const start = openingNodeId(nodes, edges);
  if (start !== null) await instance.fitView({ nodes: [{ id: start }], minZoom: MIN_ZOOM, maxZoom: MIN_ZOOM });
}

/**
 * React Flow over the draft. The one part of the editor that follows every change of the graph; the header, the
 * palette and the panels read the narrower selections they need. A drag's moves are not changes of the store until
 * the steps come to rest (useNodeChanges): during one, React Flow redraws the steps that move, and nothing here.
 */
export function FlowCanvas({ nodeTypes, edgeInsert, onHoverEdge, onConnect, onDrop, testPath, viewReady, onViewReady, readOnly, children }: FlowCanvasProps) {
  const { store } = useCanvas();
  const nodes = useGraph((state) => state.nodes);
  const edges = useGraph((state) => state.edges);
  const validation = useGraph((state) => state.validation);
  const moving = useGraph((state) => state.moving);
  // Whether the server's findings are in: they mark steps (and widen some), so what is measured on the canvas
  // (a test, a user's eye) is settled only then. Shown for the browser tests to wait on.
  const checked = useGraph((state) => state.validation !== null);
  const [edgeLabelLayer, setEdgeLabelLayer] = useState<HTMLElement | null>(null);
  const namedEdges = useNamedEdges(edges);
  const shownEdges = useMemo(
    () => withLabelMarks(markEdges(withIssues(namedEdges, validation), testPath)),
    [namedEdges, validation, testPath],
  );
  const shownNodes = useMemo(() => markNodes(nodes, testPath), [nodes, testPath]);
  const { onEdgesChange, beginGesture, endGesture } = store.getState();
  const onNodesChange = useNodeChanges(store);
  // Every prop given to React Flow keeps its identity from one frame of a drag to the next: a new callback or array
  // there makes React Flow draw every visible edge again (its edge components take the callbacks as props).
  const onInit = useCallback((instance: ReactFlowInstance<FlowNode, FlowEdge>) => {
    void openView(instance, store.getState()).then(onViewReady);
  }, [store, onViewReady]);
  const onEdgeMouseEnter = useCallback((_: unknown, edge: FlowEdge) => onHoverEdge(edge.id), [onHoverEdge]);
  const onEdgeMouseLeave = useCallback(() => onHoverEdge(null), [onHoverEdge]);
  // What is drawn over the flow keeps its identity through a drag's frames too, so that React skips it: each of
  // these follows React Flow's store (or ours) by itself, and none needs the canvas's render to draw a move.
  const layers = useMemo(() => (
    <>
      <StillBackground />
      <Overview label="Overview of the workflow" />
      <Controls showInteractive={!readOnly} />
      <TestRunBadges highlight={testPath} />
      <EdgeLabelLayerFinder onFound={setEdgeLabelLayer} />
      {children}
    </>
  ), [testPath, children, readOnly]);
  return (
    <div
      className={moving ? "canvas-flow is-moving" : "canvas-flow"}
      data-view-ready={viewReady}
      data-checked={checked}
      onDrop={readOnly ? undefined : onDrop}
      onDragOver={readOnly ? undefined : (event) => {
        event.preventDefault();
        markDropTarget(edgeAtPoint(event.clientX, event.clientY));
      }}
      onDragLeave={readOnly ? undefined : () => markDropTarget(null)}
    >
      <EdgeInsertContext.Provider value={edgeInsert}>
        <EdgeLabelLayerContext.Provider value={edgeLabelLayer}>
          <ReactFlow
            nodes={shownNodes}
            edges={shownEdges}
            nodeTypes={nodeTypes}
            edgeTypes={EDGE_TYPES}
            onEdgeMouseEnter={onEdgeMouseEnter}
            onEdgeMouseLeave={onEdgeMouseLeave}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={readOnly ? undefined : onConnect}
            onNodeDragStart={beginGesture}
            onNodeDragStop={endGesture}
            onlyRenderVisibleElements
            onInit={onInit}
            minZoom={MIN_ZOOM}
            deleteKeyCode={readOnly ? null : DELETE_KEYS}
            nodesDraggable={!readOnly}
            nodesConnectable={!readOnly}
            edgesReconnectable={!readOnly}
          >
            {layers}
          </ReactFlow>
        </EdgeLabelLayerContext.Provider>
      </EdgeInsertContext.Provider>
    </div>
  );
}
