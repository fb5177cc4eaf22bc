import { useEffect, useRef } from "react";
import { useStoreApi, type Transform } from "@xyflow/react";
import { useCanvas } from "./CanvasContext";

// React Flow's dotted background, as plain CSS (canvasEditing.css, `.canvas-dots`): the dots' spacing in flow units.
const GAP = 20;

/** Where the dots stand for a view: a CSS background offset and tile size, in screen pixels. */
export function dotsPlacement([x, y, zoom]: Transform): { position: string; size: string } {
  const tile = GAP * zoom;
  // A dot sits at the middle of its tile: tiles start half a gap before the flow's grid lines.
  const offset = (value: number) => `${(((value - tile / 2) % tile) + tile) % tile}px`;
  return { position: `${offset(x)} ${offset(y)}`, size: `${tile}px ${tile}px` };
}

/**
 * The canvas's dotted background, drawn by CSS on one element and moved with the view, except while steps are
 * dragged: then it stays still, and catches up with the view when they come to rest. React Flow's <Background>
 * redraws its SVG pattern over the whole canvas on every frame the view moves, and a drag near the canvas's
 * border pans the view on every frame; a still background is not painted again at all.
 */
export function StillBackground() {
  const flow = useStoreApi();
  const { store } = useCanvas();
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let placed: Transform | null = null;
    const place = () => {
      const transform = flow.getState().transform;
      if (store.getState().moving || !element.current || transform === placed) return;
      placed = transform;
      const { position, size } = dotsPlacement(transform);
      element.current.style.backgroundPosition = position;
      element.current.style.backgroundSize = size;
    };
    place();
    const stopFlow = flow.subscribe(place);
    const stopGraph = store.subscribe((state, previous) => {
      if (previous.moving && !state.moving) place();
    });
    return () => {
      stopFlow();
      stopGraph();
    };
  }, [flow, store]);
  return <div ref={element} className="react-flow__background react-flow__container canvas-dots" aria-hidden="true" />;
}
