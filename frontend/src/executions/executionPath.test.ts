import { describe, expect, it } from "vitest";
import type { FlowEdge } from "../canvas/graph";
import { pathHighlightOf } from "../testmode/highlight";
import { pathOfSteps, visitNumbers } from "./executionPath";
import type { StepRun } from "./types";

function step(node_id: string, status: StepRun["status"], branch = "default"): StepRun {
  return { id: node_id, node_id, type: "t", status, started_at: "2026-12-02T10:00:00Z", duration_ms: 1, branch, error: null };
}

const edge = (source: string, target: string, sourceHandle = "default") =>
  ({ id: `${source}-${sourceHandle}-${target}`, source, target, sourceHandle }) as FlowEdge;

describe("an execution's path on the canvas", () => {
  it("marks the steps run and the branches taken, and the failed step as failed", () => {
    const edges = [edge("t", "if"), edge("if", "tag", "yes"), edge("if", "mail", "no")];
    const path = pathOfSteps([step("t", "succeeded"), step("if", "succeeded", "no"), step("mail", "failed", "")]);
    const highlight = pathHighlightOf(path, edges);
    expect([...highlight.edgesTaken]).toEqual(["t-default-if", "if-no-mail"]);
    expect([...highlight.visitsByNode.keys()]).toEqual(["t", "if", "mail"]);
    expect(highlight.visits.map((visit) => visit.steps.map((s) => s.outcome))).toEqual([["advance"], ["advance"], ["fail"]]);
  });

  it("keeps a wait and its waking as one visit, numbered alike in the timeline and on the canvas", () => {
    const steps = [step("t", "succeeded"), step("d", "waiting", ""), step("d", "succeeded"), step("a", "succeeded")];
    const visits = pathHighlightOf(pathOfSteps(steps), []).visits;
    expect(visits.map((visit) => [visit.number, visit.nodeId])).toEqual([[1, "t"], [2, "d"], [3, "a"]]);
    expect(visitNumbers(steps)).toEqual([1, 2, 2, 3]);
  });

  it("numbers a step visited again (a loop, a retry) as a visit of its own", () => {
    expect(visitNumbers([step("t", "succeeded"), step("c", "failed"), step("c", "succeeded")])).toEqual([1, 2, 3]);
  });
});
