import { describe, expect, it } from "vitest";
import { NOTE_TYPE } from "./notes";
import { fitStoppedAtMinZoom, MIN_ZOOM, openingNodeId, startNodeIds } from "./openingView";

const at = (id: string, x: number, y: number) => ({ id, position: { x, y } });

describe("startNodeIds", () => {
  it("names the steps nothing leads to, notes left out", () => {
    const nodes = [at("t1", 0, 0), at("t2", 900, 0), at("a", 0, 150), at("b", 0, 300), { ...at("n", 0, -500), type: NOTE_TYPE }];
    const edges = [{ target: "a" }, { target: "b" }];
    expect(startNodeIds(nodes, edges)).toEqual(["t1", "t2"]);
  });

  it("names every step of a closed loop, which has no start", () => {
    expect(startNodeIds([at("a", 0, 0), at("b", 0, 100)], [{ target: "a" }, { target: "b" }])).toEqual(["a", "b"]);
  });
});

describe("openingNodeId", () => {
  it("opens on the uppermost start, then the leftmost", () => {
    const nodes = [at("late", 5000, 400), at("right", 3000, 0), at("left", -2000, 0), at("next", 0, 900)];
    expect(openingNodeId(nodes, [{ target: "next" }])).toBe("left");
  });

  it("has nothing to open on without steps", () => {
    expect(openingNodeId([{ ...at("n", 0, 0), type: NOTE_TYPE }], [])).toBeNull();
  });
});

describe("fitStoppedAtMinZoom", () => {
  it("tells a fit clamped at the smallest zoom from one that fitted", () => {
    expect(fitStoppedAtMinZoom(MIN_ZOOM)).toBe(true);
    expect(fitStoppedAtMinZoom(0.62)).toBe(false);
  });
});
