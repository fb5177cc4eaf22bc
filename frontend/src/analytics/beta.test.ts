import { describe, expect, it } from "vitest";
import { betaCdf, betaQuantile, logGamma } from "./beta";
import { rateRange } from "./splitTests";

describe("Beta quantiles", () => {
  it("agree with the closed forms of Beta(1, b) and Beta(a, 1)", () => {
    // Beta(1, b): P(X ≤ x) = 1 - (1 - x)^b; Beta(a, 1): P(X ≤ x) = x^a.
    expect(betaQuantile(0.025, 1, 1)).toBeCloseTo(0.025, 8);
    expect(betaQuantile(0.975, 1, 11)).toBeCloseTo(1 - 0.025 ** (1 / 11), 8);
    expect(betaQuantile(0.025, 8, 1)).toBeCloseTo(0.025 ** (1 / 8), 8);
    expect(betaCdf(0.3, 1, 4)).toBeCloseTo(1 - 0.7 ** 4, 10);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 10);
  });

  it("match a numerical integration of Beta(2, 7), and sit inside 0..1 with few contacts", () => {
    // Reference from integrating the density (midpoint rule, 20,000 steps): 0.03185 and 0.52651.
    expect(betaQuantile(0.025, 2, 7)).toBeCloseTo(0.03185, 4);
    expect(betaQuantile(0.975, 2, 7)).toBeCloseTo(0.52651, 4);
    const range = rateRange(1, 7);
    expect(range.low).toBeGreaterThan(0.03);
    expect(range.high).toBeLessThan(0.53);
  });

  it("join the normal approximation where the exact range hands over to it", () => {
    const exact = rateRange(2_000, 20_000);
    const normal = rateRange(2_001, 20_001);
    expect(Math.abs(exact.low - normal.low)).toBeLessThan(0.0005);
    expect(Math.abs(exact.high - normal.high)).toBeLessThan(0.0005);
  });
});
