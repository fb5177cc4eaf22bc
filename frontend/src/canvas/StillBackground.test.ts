import { describe, expect, it } from "vitest";
import { dotsPlacement } from "./StillBackground";

describe("the canvas's dots", () => {
  it("tile by the gap times the zoom, a dot on each of the flow's grid points", () => {
    // At zoom 1 and no pan, a 20 px tile whose middle (the dot) is on (0, 0): tiles start 10 px before it.
    expect(dotsPlacement([0, 0, 1])).toEqual({ position: "10px 10px", size: "20px 20px" });
    // Panned 25 px right and 3 px up at zoom 2: 40 px tiles, offsets kept within one tile.
    expect(dotsPlacement([25, -3, 2])).toEqual({ position: "5px 17px", size: "40px 40px" });
  });
});
