import { lazy, Suspense } from "react";
import { useParams } from "react-router";
import { useCanvasOpening } from "./canvasQueries";

// The canvas (React Flow, the store, the forms) is a chunk of its own: the list page loads without it.
const CanvasPage = lazy(() => import("./CanvasPage"));

/**
 * The canvas route: its requests leave as the route is entered, while the canvas's chunk is still on its way (it
 * arrives in about the time they take), instead of once that chunk has arrived and rendered.
 */
export function CanvasRoute() {
  const { workflowId = "" } = useParams();
  useCanvasOpening(workflowId);
  return (
    <Suspense fallback={<p className="loading">Loading the canvas…</p>}>
      <CanvasPage />
    </Suspense>
  );
}
