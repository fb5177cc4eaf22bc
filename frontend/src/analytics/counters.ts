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
  /** A trigger's entries that did not start, and why (null when none did not, or for any other step). */
  notStarted: NotStartedFigures | null;
}

export interface NotStartedFigures {
  total: number;
  /** "2 were in the workflow already · 1 was entering twice at once", largest first. */
  reasons: string;
}

// The server's codes (docs/api-additions.md, "why entries did not start"), as a marketer reads them.
const NOT_STARTED_WORDS: Record<string, [one: string, many: string]> = {
  already_enrolled: ["was in the workflow already", "were in the workflow already"],
  reenrollment_not_allowed: ["was refused by the re-enrollment rule", "were refused by the re-enrollment rule"],
  already_started: ["had been started by the same event or occasion", "had been started by the same event or occasion"],
  duplicate: ["was entering twice at once", "were entering twice at once"],
  self_triggered: ["came from this workflow's own action", "came from this workflow's own actions"],
  not_entered: ["could not be judged by the trigger's filter", "could not be judged by the trigger's filter"],
};

/** What a trigger's badge says of the entries it offered that did not start; null when there were none. */
export function notStartedFigures(analytics: WorkflowAnalytics, nodeId: string): NotStartedFigures | null {
  const trigger = analytics.triggers?.[nodeId];
  if (!trigger) return null;
  const counts: [string, number][] = [...Object.entries(trigger.skipped), ["not_entered", trigger.not_entered]];
  const shown = counts.filter(([, count]) => count > 0).sort(([, a], [, b]) => b - a);
  const total = shown.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return null;
  const reasons = shown.map(([code, count]) => {
    const [one, many] = NOT_STARTED_WORDS[code] ?? [`for the reason “${code}”`, `for the reason “${code}”`];
    return `${count.toLocaleString("en")} ${count === 1 ? one : many}`;
  });
  return { total, reasons: reasons.join(" · ") };
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
    notStarted: notStartedFigures(analytics, nodeId),
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
