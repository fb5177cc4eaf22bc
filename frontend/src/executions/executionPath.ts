// A real execution's step log as the path test mode paints (testmode/highlight.ts): one painter for simulated
// and real runs, so "Show on canvas" marks steps and branches exactly as a test run does.
import type { SimulationStep } from "../api/types";
import type { StepRun } from "./types";

const OUTCOME_OF_STATUS: Record<StepRun["status"], string> = {
  succeeded: "advance",
  failed: "fail",
  waiting: "wait",
  skipped: "skip",
};

/** The step runs, in their order, as simulation path entries (outcome from status, branch, start time). */
export function pathOfSteps(steps: readonly StepRun[]): SimulationStep[] {
  return steps.map((step) => ({
    node_id: step.node_id,
    type: step.type,
    at: step.started_at,
    outcome: OUTCOME_OF_STATUS[step.status],
    branch: step.branch ? step.branch : null,
    detail: step.detail ?? null,
  }));
}

/** Each step run's number on the canvas: its visit's (a wait and its waking share one), as the badges say. */
export function visitNumbers(steps: readonly StepRun[]): number[] {
  const numbers: number[] = [];
  let number = 0;
  steps.forEach((step, index) => {
    const previous = steps[index - 1];
    const wakes = previous && previous.node_id === step.node_id && previous.status === "waiting";
    if (!wakes) number += 1;
    numbers.push(number);
  });
  return numbers;
}
