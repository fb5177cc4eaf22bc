import { useEffect } from "react";
import { useReactFlow } from "@xyflow/react";

// Room kept between the step and the canvas's edge when it is brought into view.
const MARGIN = 24;

/**
 * When a step is selected (its settings panel opens beside the canvas, which narrows it), pan the view so that
 * the step is not hidden under the panel or beyond the canvas's edge. The zoom stays as it is.
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
      const view = canvas.getBoundingClientRect();
      const dx = box.right + MARGIN > view.right ? view.right - MARGIN - box.right
        : box.left - MARGIN < view.left ? view.left + MARGIN - box.left : 0;
      const dy = box.bottom + MARGIN > view.bottom ? view.bottom - MARGIN - box.bottom
        : box.top - MARGIN < view.top ? view.top + MARGIN - box.top : 0;
      if (dx === 0 && dy === 0) return;
      const { x, y, zoom } = flow.getViewport();
      void flow.setViewport({ x: x + dx, y: y + dy, zoom }, { duration: 200 });
    });
    return () => cancelAnimationFrame(frame);
  }, [nodeId, flow]);
}
