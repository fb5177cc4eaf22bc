// Where a step must be panned to be seen: inside the canvas, and clear of what React Flow draws over the canvas
// (the minimap, the zoom controls, any panel). Pure geometry in screen pixels, so it can be tested alone.

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface Pan {
  dx: number;
  dy: number;
}

const moved = (box: Box, { dx, dy }: Pan): Box =>
  ({ left: box.left + dx, top: box.top + dy, right: box.right + dx, bottom: box.bottom + dy });

const overlaps = (a: Box, b: Box, margin: number): boolean =>
  a.left < b.right + margin && a.right > b.left - margin && a.top < b.bottom + margin && a.bottom > b.top - margin;

const inside = (box: Box, view: Box, margin: number): boolean =>
  box.left >= view.left + margin - 0.5 && box.right <= view.right - margin + 0.5 &&
  box.top >= view.top + margin - 0.5 && box.bottom <= view.bottom - margin + 0.5;

/** The smallest pan that brings `box` inside `view` (kept `margin` from its edges), on one axis each. */
function intoView(box: Box, view: Box, margin: number): Pan {
  const dx = box.right + margin > view.right ? view.right - margin - box.right
    : box.left - margin < view.left ? view.left + margin - box.left : 0;
  const dy = box.bottom + margin > view.bottom ? view.bottom - margin - box.bottom
    : box.top - margin < view.top ? view.top + margin - box.top : 0;
  return { dx, dy };
}

/**
 * The pan that shows `box` in `view` clear of every overlay: first into the view, then, if an overlay still
 * covers it, the shortest further move past that overlay (up, down, left or right) that stays in the view and
 * clear of the others. When no such move exists (a step larger than the room left), the step is at least in view.
 */
export function panToShow(box: Box, view: Box, overlays: readonly Box[], margin: number): Pan {
  const first = intoView(box, view, margin);
  const shown = moved(box, first);
  const covering = overlays.filter((overlay) => overlaps(shown, overlay, margin));
  if (covering.length === 0) return first;
  const candidates = covering.flatMap((overlay) => [
    { dx: 0, dy: overlay.top - margin - shown.bottom },
    { dx: 0, dy: overlay.bottom + margin - shown.top },
    { dx: overlay.left - margin - shown.right, dy: 0 },
    { dx: overlay.right + margin - shown.left, dy: 0 },
  ]);
  const clear = candidates
    .map((extra) => ({ dx: first.dx + extra.dx, dy: first.dy + extra.dy }))
    .filter((pan) => {
      const there = moved(box, pan);
      return inside(there, view, margin) && overlays.every((overlay) => !overlaps(there, overlay, margin));
    })
    .sort((a, b) => Math.hypot(a.dx - first.dx, a.dy - first.dy) - Math.hypot(b.dx - first.dx, b.dy - first.dy));
  return clear[0] ?? first;
}
