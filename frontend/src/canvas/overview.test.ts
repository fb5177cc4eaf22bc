import { describe, expect, it } from "vitest";
import { boundsOf, overviewFrame, stepsPath, viewRect } from "./overview";

describe("the overview map", () => {
  it("draws every step as a rectangle of one path", () => {
    expect(stepsPath([{ x: 0, y: 10, width: 200, height: 60 }, { x: -5, y: 0, width: 10, height: 20 }]))
      .toBe("M0,10h200v60h-200zM-5,0h10v20h-10z");
    expect(stepsPath([])).toBe("");
  });

  it("fits the steps and the view in the map, with React Flow's margin", () => {
    const steps = boundsOf([{ x: 0, y: 0, width: 200, height: 50 }, { x: 300, y: 100, width: 100, height: 50 }]);
    expect(steps).toEqual({ x: 0, y: 0, width: 400, height: 150 });
    const view = viewRect([0, 0, 1], 400, 150);
    // 400 x 150 in a 200 x 150 map: 2 flow units a pixel, a 10-unit margin, centred vertically.
    const frame = overviewFrame(steps, view);
    expect(frame.scale).toBe(2);
    expect(frame.viewBox).toBe("-10 -85 420 320");
    expect(frame.mask.endsWith("M0,0h400v150h-400z")).toBe(true);
  });

  it("takes the view in when it reaches beyond the steps", () => {
    const view = viewRect([-1000, 0, 2], 400, 300); // the view at x 500..700, zoomed in twice
    expect(view).toEqual({ x: 500, y: -0, width: 200, height: 150 });
    const frame = overviewFrame({ x: 0, y: 0, width: 100, height: 150 }, view);
    expect(frame.scale).toBe(3.5); // 0..700 across
  });
});
