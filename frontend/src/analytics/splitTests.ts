// What a split test says to the person deciding which variant wins: each variant's goal rate with the range it
// plausibly lies in, its chance of being the best, the sample sizes behind both, and a verdict that refuses to
// call a winner on too little data. Pure: the page and its tests share it.
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { branchesOf } from "../canvas/graph";
import { betaQuantile } from "./beta";
import { stepName } from "./funnel";

export interface VariantFigures {
  entered: number;
  goal_reached: number;
  rate: number;
  probability_best: number;
}

export interface SplitTestFigures {
  method: "exact" | "monte_carlo";
  samples: number;
  variants: Record<string, VariantFigures>;
}

export interface VariantRow {
  id: string;
  label: string;
  entered: number;
  goals: number;
  /** Goal conversions per contact that took the variant (0..1). */
  rate: number;
  /** A 95% credible range of the rate (Beta posterior with a uniform prior), 0..1. */
  low: number;
  high: number;
  probabilityBest: number;
}

export type Verdict =
  | { kind: "no-data"; text: string }
  | { kind: "too-early"; text: string }
  | { kind: "winner"; text: string; variant: string }
  | { kind: "undecided"; text: string };

export interface SplitTestView {
  nodeId: string;
  name: string;
  variants: VariantRow[];
  verdict: Verdict;
  method: string;
}

// Below this many contacts in a variant, the chance of being best swings with every few conversions.
export const MIN_SAMPLE = 100;
// The chance of being best at which a variant is called the winner.
export const WINNER_CHANCE = 0.95;

// Up to this many contacts the range is exact (Beta quantiles); beyond, the normal approximation agrees with it.
const EXACT_RANGE_UP_TO = 20_000;

/** A 95% range of a goal rate with `goals` conversions out of `entered` (Beta(1 + goals, 1 + misses)). */
export function rateRange(goals: number, entered: number): { low: number; high: number } {
  const alpha = 1 + Math.max(0, goals);
  const beta = 1 + Math.max(0, entered - goals);
  if (entered <= EXACT_RANGE_UP_TO) {
    return { low: betaQuantile(0.025, alpha, beta), high: betaQuantile(0.975, alpha, beta) };
  }
  const mean = alpha / (alpha + beta);
  const sd = Math.sqrt((alpha * beta) / ((alpha + beta) ** 2 * (alpha + beta + 1)));
  return { low: Math.max(0, mean - 1.96 * sd), high: Math.min(1, mean + 1.96 * sd) };
}

/** The verdict on one split's variants (already ordered as the split lists them). */
export function verdictOf(variants: readonly VariantRow[]): Verdict {
  const total = variants.reduce((sum, variant) => sum + variant.entered, 0);
  if (total === 0) return { kind: "no-data", text: "No contact has gone through this split yet." };
  const smallest = [...variants].sort((a, b) => a.entered - b.entered)[0]!;
  if (smallest.entered < MIN_SAMPLE) {
    return {
      kind: "too-early",
      text: `Too early to call: “${smallest.label}” has ${plural(smallest.entered, "contact")} (at least ${MIN_SAMPLE} in each variant are needed before a winner is called). Keep the test running.`,
    };
  }
  const best = [...variants].sort((a, b) => b.probabilityBest - a.probabilityBest)[0]!;
  if (best.probabilityBest >= WINNER_CHANCE) {
    return {
      kind: "winner",
      variant: best.id,
      text: `“${best.label}” is the likely winner: a ${percent(best.probabilityBest)} chance of having the best goal rate.`,
    };
  }
  return {
    kind: "undecided",
    text: `No clear winner yet: “${best.label}” leads with a ${percent(best.probabilityBest)} chance of being best; a winner is called at ${percent(WINNER_CHANCE)}. Keep the test running.`,
  };
}

/**
 * The split tests of the analytics answer, each named as on the canvas of `graph`, its variants in the split's own
 * order (then any variant the graph no longer has). A split in the graph with no figures yet is listed with zeros.
 */
export function splitTestViews(
  tests: Readonly<Record<string, SplitTestFigures>>,
  graph: GraphJson,
  types: ReadonlyMap<string, NodeTypeInfo>,
): SplitTestView[] {
  const nodes = graph.nodes ?? [];
  const splitNodes = nodes.filter((node) => node.type === "split");
  const ids = [...splitNodes.map((node) => node.id), ...Object.keys(tests).filter((id) => !splitNodes.some((node) => node.id === id)).sort()];
  return ids.map((nodeId) => {
    const node = nodes.find((item) => item.id === nodeId);
    const figures = tests[nodeId];
    const branches = node ? branchesOf(types.get(node.type), (node.data?.config ?? {}) as Record<string, unknown>) : [];
    const known = branches.map((branch) => branch.id);
    const variantIds = [...known, ...Object.keys(figures?.variants ?? {}).filter((id) => !known.includes(id)).sort()];
    const variants = variantIds.map((id): VariantRow => {
      const figure = figures?.variants[id];
      const entered = figure?.entered ?? 0;
      const goals = figure?.goal_reached ?? 0;
      return {
        id,
        label: branches.find((branch) => branch.id === id)?.label ?? id,
        entered,
        goals,
        rate: entered > 0 ? goals / entered : 0,
        ...rateRange(goals, entered),
        probabilityBest: figure?.probability_best ?? 0,
      };
    });
    return {
      nodeId,
      name: node ? stepName(node, types.get(node.type)) : `A split no longer in this version (${nodeId})`,
      variants,
      verdict: verdictOf(variants),
      method: figures?.method === "monte_carlo"
        ? `Estimated from ${figures.samples.toLocaleString("en")} random draws of each variant's likely rate.`
        : "Computed exactly from each variant's contacts and goal conversions.",
    };
  });
}

export function percent(value: number, digits = 0): string {
  return `${(value * 100).toFixed(digits)}%`;
}

export function plural(count: number, word: string, words = `${word}s`): string {
  return `${count.toLocaleString("en")} ${count === 1 ? word : words}`;
}
