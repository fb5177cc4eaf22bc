// The server state of the analytics page and of the canvas's counters. The keys are fixed: live updates
// (websocket messages) invalidate the prefixes ["analytics", id] and ["workflow-counters", id].
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Workflow, WorkflowAnalytics } from "../api/types";
import { todayUtc } from "./series";

export interface AnalyticsParams {
  /** A published version's number, or null for all of them. */
  version: number | null;
  since: string;
  until: string;
}

export const analyticsKeys = {
  page: (workflowId: string, params: AnalyticsParams) => ["analytics", workflowId, params] as const,
  // The canvas's counters: the latest published version's (while editing the draft), or one version's.
  counters: (workflowId: string) => ["workflow-counters", workflowId] as const,
  versionCounters: (workflowId: string, version: number) => ["workflow-counters", workflowId, { version }] as const,
};

function analyticsPath(workflowId: string, params: AnalyticsParams): string {
  const query = new URLSearchParams({ since: params.since, until: params.until });
  if (params.version !== null) query.set("version", String(params.version));
  return `workflows/${workflowId}/analytics?${query}`;
}

export function useAnalytics(workflowId: string, params: AnalyticsParams) {
  return useQuery({
    queryKey: analyticsKeys.page(workflowId, params),
    queryFn: () => api<WorkflowAnalytics>(analyticsPath(workflowId, params)),
    placeholderData: (previous) => previous,
    refetchInterval: 30_000,
  });
}

/** Counters of one version for the canvas; `version` null when the workflow has none published yet. */
export interface CanvasCounts {
  version: number | null;
  analytics: WorkflowAnalytics | null;
}

// The canvas asks for today's series only: it shows totals, and the day's series is the shortest answer.
function countsOf(workflowId: string, version: number): Promise<CanvasCounts> {
  const today = todayUtc();
  return api<WorkflowAnalytics>(analyticsPath(workflowId, { version, since: today, until: today })).then(
    (analytics) => ({ version, analytics }),
  );
}

// While the counts are shown, they are read again this often when the workflow's socket is down (live/pollMs).
export const COUNTERS_REFRESH_MS = 15_000;

/**
 * The counters of the version a canvas shows: `version` when given (a published version's canvas), else the latest
 * published (the draft's canvas), read afresh each time so a publish made meanwhile moves the counts to it.
 */
export function useCanvasCounts<T>(
  workflowId: string,
  version: number | null,
  enabled: boolean,
  select: (counts: CanvasCounts) => T,
  pollMs: number | false = false,
) {
  return useQuery({
    queryKey: version === null ? analyticsKeys.counters(workflowId) : analyticsKeys.versionCounters(workflowId, version),
    queryFn: async () => {
      if (version !== null) return countsOf(workflowId, version);
      const workflow = await api<Workflow>(`workflows/${workflowId}`);
      return workflow.published_version === null
        ? { version: null, analytics: null }
        : countsOf(workflowId, workflow.published_version);
    },
    enabled,
    select,
    // One observer (the canvas's layer) polls; the badges share its answer.
    refetchInterval: pollMs,
  });
}
