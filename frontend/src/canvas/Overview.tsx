import { useEffect, useRef } from "react";
import { Panel, useReactFlow, useStoreApi, type ReactFlowState } from "@xyflow/react";
import { useCanvas } from "./CanvasContext";
import { boundsOf, MAP_HEIGHT, MAP_WIDTH, overviewFrame, stepsPath, viewRect, type Rect } from "./overview";

const WHEEL_ZOOM_STEP = 0.002;

/**
 * The workflow's overview (React Flow's minimap, drawn otherwise): every step in one SVG path, and the view as a
 * window in a shaded mask; drag it to pan, scroll on it to zoom. React Flow's <MiniMap> keeps one component
 * subscribed to its store per step, 500 selectors run on every store update, several per frame of a drag;
 * this one subscribes once and sets two attributes. While steps are dragged, the steps' path stays as it was
 * (the view's window still follows) and is drawn again when they come to rest.
 */
export function Overview({ label }: { label: string }) {
  const flowStore = useStoreApi();
  const flow = useReactFlow();
  const { store } = useCanvas();
  const svg = useRef<SVGSVGElement>(null);
  const stepsElement = useRef<SVGPathElement>(null);
  const maskElement = useRef<SVGPathElement>(null);
  const scale = useRef(1);

  useEffect(() => {
    // React Flow changes its `nodes` with every move, measure or edit (its node lookup is the same Map throughout).
    let drawnSteps: ReactFlowState["nodes"] | null = null;
    let stepBounds: Rect | null = null;
    let drawnView = "";
    const draw = () => {
      const state = flowStore.getState();
      if (!store.getState().moving && state.nodes !== drawnSteps) {
        drawnSteps = state.nodes;
        const rects = stepRects(state);
        stepBounds = boundsOf(rects);
        stepsElement.current?.setAttribute("d", stepsPath(rects));
        drawnView = "";
      }
      const view = viewRect(state.transform, state.width, state.height);
      const frame = overviewFrame(stepBounds, view);
      if (frame.mask === drawnView) return;
      drawnView = frame.mask;
      scale.current = frame.scale;
      svg.current?.setAttribute("viewBox", frame.viewBox);
      maskElement.current?.setAttribute("d", frame.mask);
    };
    draw();
    const stopFlow = flowStore.subscribe(draw);
    const stopGraph = store.subscribe((state, previous) => {
      if (previous.moving && !state.moving) {
        drawnSteps = null;
        draw();
      }
    });
    return () => {
      stopFlow();
      stopGraph();
    };
  }, [flowStore, store]);

  // Drag the window to pan: a map pixel is `scale` flow units.
  const panFrom = useRef<{ x: number; y: number } | null>(null);
  const onPointerDown = (event: React.PointerEvent<SVGSVGElement>) => {
    panFrom.current = { x: event.clientX, y: event.clientY };
    event.currentTarget.setPointerCapture(event.pointerId);
  };
  const onPointerMove = (event: React.PointerEvent<SVGSVGElement>) => {
    if (!panFrom.current) return;
    const { x, y, zoom } = flow.getViewport();
    const dx = (event.clientX - panFrom.current.x) * scale.current * zoom;
    const dy = (event.clientY - panFrom.current.y) * scale.current * zoom;
    panFrom.current = { x: event.clientX, y: event.clientY };
    void flow.setViewport({ x: x - dx, y: y - dy, zoom });
  };
  const onPointerUp = () => {
    panFrom.current = null;
  };
  const onWheel = (event: React.WheelEvent<SVGSVGElement>) => {
    void flow.zoomTo(flow.getZoom() * Math.pow(2, -event.deltaY * WHEEL_ZOOM_STEP));
  };

  return (
    <Panel position="bottom-right" className="react-flow__minimap canvas-overview">
      <svg
        ref={svg}
        width={MAP_WIDTH}
        height={MAP_HEIGHT}
        className="react-flow__minimap-svg"
        role="img"
        aria-label={label}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onWheel={onWheel}
      >
        <title>{label}</title>
        <path ref={stepsElement} className="react-flow__minimap-node" />
        <path ref={maskElement} className="react-flow__minimap-mask" fillRule="evenodd" pointerEvents="none" />
      </svg>
    </Panel>
  );
}

/** The steps' boxes in flow units, as React Flow has measured them (hidden or unmeasured steps left out). */
function stepRects(state: ReactFlowState): Rect[] {
  const rects: Rect[] = [];
  for (const node of state.nodeLookup.values()) {
    const width = node.measured.width ?? node.width ?? 0;
    const height = node.measured.height ?? node.height ?? 0;
    if (node.hidden || !width || !height) continue;
    const { x, y } = node.internals.positionAbsolute;
    rects.push({ x, y, width, height });
  }
  return rects;
}
