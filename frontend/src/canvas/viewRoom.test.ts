import { describe, expect, it } from "vitest";
import { panToShow } from "./viewRoom";

// A 1000×600 canvas with the minimap in its bottom-right corner and the zoom controls in its bottom-left one.
const VIEW = { left: 0, top: 0, right: 1000, bottom: 600 };
const MINIMAP = { left: 785, top: 435, right: 985, bottom: 585 };
const CONTROLS = { left: 15, top: 480, right: 45, bottom: 585 };

describe("the pan that brings a selected step into view", () => {
  it("leaves a step that is already seen where it is", () => {
    expect(panToShow({ left: 100, top: 100, right: 300, bottom: 160 }, VIEW, [MINIMAP, CONTROLS], 24))
      .toEqual({ dx: 0, dy: 0 });
  });

  it("moves a step out from under the minimap by the shorter way", () => {
    // Its bottom edge is 40px into the minimap and its left edge 115px past the minimap's: up is shorter.
    const pan = panToShow({ left: 800, top: 475, right: 960, bottom: 535 }, VIEW, [MINIMAP, CONTROLS], 24);
    expect(pan).toEqual({ dx: 0, dy: 435 - 24 - 535 });
  });

  it("counts the minimap for a step brought in from beyond the canvas's edge", () => {
    const pan = panToShow({ left: 1100, top: 500, right: 1300, bottom: 560 }, VIEW, [MINIMAP], 24);
    const right = 1300 + pan.dx;
    const bottom = 560 + pan.dy;
    expect(right).toBeLessThanOrEqual(1000 - 24);
    expect(bottom <= MINIMAP.top - 24 || right <= MINIMAP.left - 24).toBe(true);
  });

  it("keeps the step in view when no place clear of the overlays is left", () => {
    const large = { left: 100, top: 30, right: 960, bottom: 570 };
    const pan = panToShow(large, VIEW, [MINIMAP], 24);
    expect(pan).toEqual({ dx: 0, dy: 0 }); // in view already, and no move gets it clear
  });
});
