// The overview map's drawing (Overview.tsx), as pure functions of the steps' boxes and the view: React Flow's
// minimap geometry (its element 200 x 150, the drawing fitted with a margin of 5 map pixels), without its
// one component per step.

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const MAP_WIDTH = 200;
export const MAP_HEIGHT = 150;
const OFFSET_SCALE = 5;

/** The smallest rectangle holding all of `rects` (null when there are none). */
export function boundsOf(rects: readonly Rect[]): Rect | null {
  if (rects.length === 0) return null;
  let left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
  for (const { x, y, width, height } of rects) {
    left = Math.min(left, x);
    top = Math.min(top, y);
    right = Math.max(right, x + width);
    bottom = Math.max(bottom, y + height);
  }
  return { x: left, y: top, width: right - left, height: bottom - top };
}

/** The steps as one SVG path of rectangles: one element to draw, however many steps. */
export function stepsPath(rects: readonly Rect[]): string {
  return rects.map(({ x, y, width, height }) => `M${x},${y}h${width}v${height}h${-width}z`).join("");
}

/** What the map shows: its viewBox, the mask's path (all but the view shaded), and flow units per map pixel. */
export function overviewFrame(steps: Rect | null, view: Rect): { viewBox: string; mask: string; scale: number } {
  const bounds = steps ? boundsOf([steps, view])! : view;
  const scale = Math.max(bounds.width / MAP_WIDTH, bounds.height / MAP_HEIGHT) || 1;
  const width = scale * MAP_WIDTH, height = scale * MAP_HEIGHT;
  const offset = OFFSET_SCALE * scale;
  const x = bounds.x - (width - bounds.width) / 2 - offset;
  const y = bounds.y - (height - bounds.height) / 2 - offset;
  const boxWidth = width + offset * 2, boxHeight = height + offset * 2;
  const mask = `M${x - offset},${y - offset}h${boxWidth + offset * 2}v${boxHeight + offset * 2}h${-boxWidth - offset * 2}z` +
    `M${view.x},${view.y}h${view.width}v${view.height}h${-view.width}z`;
  return { viewBox: `${x} ${y} ${boxWidth} ${boxHeight}`, mask, scale };
}

/** The part of the flow in view, from React Flow's transform and the canvas's size. */
export function viewRect([x, y, zoom]: readonly [number, number, number], width: number, height: number): Rect {
  return { x: -x / zoom, y: -y / zoom, width: width / zoom, height: height / zoom };
}
