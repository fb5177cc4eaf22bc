import { useEffect } from "react";
import { useReactFlow } from "@xyflow/react";
import { panToShow } from "./viewRoom";

// Room kept between the step and the canvas's edge when it is brought into view.
const MARGIN = 24;

/**
 * When a step is selected (its settings panel opens beside the canvas, which narrows it), pan the view so that
 * the step is not hidden under the panel, beyond the canvas's edge, or under what React Flow draws over the
 * canvas (the minimap, the zoom controls: its panels). The zoom stays as it is. The side panels, the palette and
 * the toolbar sit beside the canvas, not over it: measuring the canvas's own box already leaves them out.
 */
export function useSelectedInView(nodeId: string | null) {
  const flow = useReactFlow();
  useEffect(() => {
    if (!nodeId) return;
    // The canvas is resized by the panel's layout: measure after the browser has laid it out.
    const frame = requestAnimationFrame(() => {
      // From React Flow's own record of the step, not its element: a step the narrowed canvas no longer shows is
      // not drawn at all (only visible elements render), and it is the one that most needs bringing back.
      const step = flow.getInternalNode(nodeId);
      const canvas = document.querySelector(".canvas-flow");
      if (!step || !canvas) return;
      const topLeft = flow.flowToScreenPosition(step.internals.positionAbsolute);
      const bottomRight = flow.flowToScreenPosition({
        x: step.internals.positionAbsolute.x + (step.measured.width ?? 0),
        y: step.internals.positionAbsolute.y + (step.measured.height ?? 0),
      });
      const box = { left: topLeft.x, top: topLeft.y, right: bottomRight.x, bottom: bottomRight.y };
      const overlays = [...canvas.querySelectorAll(".react-flow__panel")].map((panel) => panel.getBoundingClientRect());
      const { dx, dy } = panToShow(box, canvas.getBoundingClientRect(), overlays, MARGIN);
      if (dx === 0 && dy === 0) return;
      const { x, y, zoom } = flow.getViewport();
      void flow.setViewport({ x: x + dx, y: y + dy, zoom }, { duration: 200 });
    });
    return () => cancelAnimationFrame(frame);
  }, [nodeId, flow]);
}
