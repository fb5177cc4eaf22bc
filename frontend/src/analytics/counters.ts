// What a step's badge on the canvas says, and where each of its counts leads. Pure: the badges and tests share it.
import type { WorkflowAnalytics } from "../api/types";

export interface NodeFigures {
  entered: number;
  waitingNow: number;
  failed: number;
  /** Goal conversions of the contacts that went through this step. */
  goals: number;
  isSplit: boolean;
  /** An optimizing split's allocation in force, said in words (null for any other step). */
  allocation: AllocationFigures | null;
}

export interface AllocationFigures {
  summary: string;
  /** Why the traffic is shared so: the server's explanation of the latest change. */
  reason: string;
  winner: string | null;
}

/** What an optimizing split's badge says: the winner once declared, else each variant's share of traffic. */
export function allocationFigures(analytics: WorkflowAnalytics, nodeId: string): AllocationFigures | null {
  const allocation = analytics.split_allocations?.[nodeId];
  if (!allocation) return null;
  const shares = Object.entries(allocation.shares)
    .sort(([, a], [, b]) => b - a)
    .map(([variant, share]) => `${variant} ${Math.round(share * 100)}%`)
    .join(" · ");
  const summary = allocation.winner
    ? `Winner: ${allocation.winner} (goal “${allocation.goal}”)`
    : `Optimizing for “${allocation.goal}”: ${shares}`;
  return { summary, reason: allocation.reason, winner: allocation.winner };
}

/** The figures of one step in one version's analytics (zeros for a step nothing has reached yet). */
export function nodeFigures(analytics: WorkflowAnalytics, nodeId: string): NodeFigures {
  const counts = analytics.nodes[nodeId];
  return {
    entered: counts?.entered ?? 0,
    waitingNow: counts?.waiting_now ?? 0,
    failed: counts?.failed ?? 0,
    goals: counts?.goal_reached ?? 0,
    isSplit: nodeId in analytics.splits,
    allocation: allocationFigures(analytics, nodeId),
  };
}

/** Where a step's goal conversions are explained: its split test, or its row of the funnel. */
export function goalsLink(workflowId: string, nodeId: string, isSplit: boolean): string {
  return `/workflows/${workflowId}/analytics#${isSplit ? "split" : "step"}-${encodeURIComponent(nodeId)}`;
}

export type ExecutionStatusFilter = "failed" | "waiting";

/** The executions table at one step: `/executions?workflow=<id>&node=<nodeId>[&status=…]` (under /builder/). */
export function executionsLink(workflowId: string, nodeId: string, status?: ExecutionStatusFilter): string {
  const query = new URLSearchParams({ workflow: workflowId, node: nodeId });
  if (status) query.set("status", status);
  return `/executions?${query}`;
}

/** Which version the canvas counts, said on screen. */
export function countsCaption(version: number | null, viewing: "draft" | "version"): string {
  if (version === null) return "No version is published yet: counts appear once contacts go through a published version.";
  return viewing === "draft"
    ? `Counts of version ${version}, the latest published (you are editing the draft).`
    : `Counts of version ${version}.`;
}
