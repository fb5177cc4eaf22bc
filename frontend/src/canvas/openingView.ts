// Where the canvas opens. A draft is fitted whole when it fits at the smallest zoom; a larger one fitted whole
// would be centred on the middle of its bounds, which for far-apart parts is an empty stretch between them.
// Such a draft opens on where its flow starts instead, at the smallest zoom: the uppermost (then leftmost) of the
// steps nothing leads to (its triggers). One step, not all of them: several far-apart triggers would again centre
// the view on the stretch between them.
import { isNote } from "./notes";

export const MIN_ZOOM = 0.5; // React Flow's default, named here because the opening view is decided by it

interface NodeLike {
  id: string;
  type?: string;
  position: { x: number; y: number };
}

interface EdgeLike {
  target: string;
}

/** The ids of the steps no edge leads to (notes left out); every step when the flow is a closed loop. */
export function startNodeIds(nodes: readonly NodeLike[], edges: readonly EdgeLike[]): string[] {
  const steps = nodes.filter((node) => !isNote(node));
  const targets = new Set(edges.map((edge) => edge.target));
  const starts = steps.filter((node) => !targets.has(node.id));
  return (starts.length > 0 ? starts : steps).map((node) => node.id);
}

/** The id of the step the view opens on when the draft does not fit; null for a draft without steps. */
export function openingNodeId(nodes: readonly NodeLike[], edges: readonly EdgeLike[]): string | null {
  const starts = new Set(startNodeIds(nodes, edges));
  const first = nodes
    .filter((node) => starts.has(node.id))
    .sort((a, b) => a.position.y - b.position.y || a.position.x - b.position.x)[0];
  return first?.id ?? null;
}

/** Whether fitting the whole draft had to stop at the smallest zoom: then it does not fit, and the view opens on
 * the start. */
export function fitStoppedAtMinZoom(zoom: number): boolean {
  return zoom <= MIN_ZOOM + 1e-3;
}
