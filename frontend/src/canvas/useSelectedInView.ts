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
      const element = document.querySelector(`.react-flow__node[data-id="${CSS.escape(nodeId)}"]`);
      const canvas = document.querySelector(".canvas-flow");
      if (!element || !canvas) return;
      const box = element.getBoundingClientRect();
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
