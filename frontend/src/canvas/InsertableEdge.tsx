import { createContext, useContext, useLayoutEffect } from "react";
import { createPortal } from "react-dom";
import { BaseEdge, getBezierPath, useStore as useFlowStore, type EdgeProps } from "@xyflow/react";
import { useStore } from "zustand";
import { createStore, type StoreApi } from "zustand/vanilla";
import type { FlowEdge } from "./graph";
import "./canvasEditing.css";

/** The edge under the pointer: kept apart, so that hovering re-renders the two edges concerned, not all of them. */
export type HoveredEdgeStore = StoreApi<{ hovered: string | null }>;

export function createHoveredEdgeStore(): HoveredEdgeStore {
  return createStore(() => ({ hovered: null as string | null }));
}

/**
 * What the "+" on an edge does (the editor opens the command menu to choose the step), and which edge is hovered.
 * No `insertOn` (a viewer's canvas): no "+".
 */
export const EdgeInsertContext = createContext<{ insertOn: ((edgeId: string) => void) | null; hover: HoveredEdgeStore }>({
  insertOn: () => undefined,
  hover: createHoveredEdgeStore(),
});

/**
 * The layer React Flow keeps for edges' HTML labels. Its own <EdgeLabelRenderer> looks that element up with
 * `querySelector` in a store selector, so once per drawn edge on every store update: during a drag of a 500-node
 * canvas that was the largest single cost of a frame. The canvas finds the layer once (EdgeLabelLayerFinder, a
 * child of <ReactFlow>) and hands it to the edges through this context.
 */
export const EdgeLabelLayerContext = createContext<HTMLElement | null>(null);

/** Render inside <ReactFlow>: reports its edge-label layer whenever React Flow's root element changes. */
export function EdgeLabelLayerFinder({ onFound }: { onFound: (layer: HTMLElement | null) => void }) {
  const root = useFlowStore((state) => state.domNode);
  useLayoutEffect(() => {
    onFound(root?.querySelector<HTMLElement>(".react-flow__edgelabel-renderer") ?? null);
  }, [root, onFound]);
  return null;
}

const LABEL_MARKS = "labelMarks";

/**
 * The edges with their marks (`className`) also in their data, for their labels: the label is drawn outside the
 * edge's element, and reading the marks from React Flow's store instead was one more store selector per drawn
 * edge, run on every store update (several per frame of a drag).
 */
export function withLabelMarks(edges: FlowEdge[]): FlowEdge[] {
  return edges.map((edge) =>
    edge.label && edge.className ? { ...edge, data: { ...edge.data, [LABEL_MARKS]: edge.className } } : edge);
}

/**
 * The canvas's edge: React Flow's curve, its label (a branch's name or a finding) and a "+" at its middle shown on
 * hover, focus or selection. The label is HTML in the label layer, not React Flow's SVG <EdgeText>: that one
 * measures its text with getBBox after every mount (a forced layout, then a second render to place it), and while
 * a drag pans the view near the canvas's border, edges mount and unmount on every frame. The edge's own name
 * (aria-label) already says the branch or the finding, so the label is hidden from screen readers: it would be read
 * twice, and apart from its edge.
 */
export function InsertableEdge(props: EdgeProps) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, selected, label } = props;
  const { insertOn, hover } = useContext(EdgeInsertContext);
  const hovered = useStore(hover, (state) => state.hovered === id);
  // The edge's marks (a finding's level, test mode's dimming) style its label too, which lives outside the edge.
  const marks = typeof props.data?.[LABEL_MARKS] === "string" ? props.data[LABEL_MARKS] : undefined;
  const labelLayer = useContext(EdgeLabelLayerContext);
  const [path, middleX, middleY] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        markerEnd={props.markerEnd}
        style={props.style}
        interactionWidth={props.interactionWidth}
      />
      {labelLayer && createPortal(
        <>
          {label && (
            <div
              className={marks ? `edge-label ${marks}` : "edge-label"}
              // The label sits halfway to the middle, which is the "+"'s place.
              style={{ transform: `translate(-50%, -50%) translate(${(sourceX + middleX) / 2}px, ${(sourceY + middleY) / 2}px)` }}
              aria-hidden="true"
              data-edge-id={id}
            >
              {label}
            </div>
          )}
          {insertOn && (
            <button
              type="button"
              className={`edge-insert nodrag nopan${selected || hovered ? " shown" : ""}`}
              style={{ transform: `translate(-50%, -50%) translate(${middleX}px, ${middleY}px)` }}
              aria-label="Insert a step on this connection"
              title="Insert a step here"
              data-edge-id={id}
              onClick={() => insertOn(id)}
            >
              +
            </button>
          )}
        </>,
        labelLayer,
      )}
    </>
  );
}
