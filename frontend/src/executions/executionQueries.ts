// The server state of the executions screens. The keys are a contract with the live updates (websocket messages
// invalidate these prefixes): ["executions", {...filters, cursor?}] for a page of the list, ["execution", id]
// for one execution.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError } from "../api/client";
import type { Page } from "../api/types";
import { searchOf, type ExecutionFilters, type ListParams } from "./filters";
import type { BulkCancelAnswer, BulkRetryAnswer, Execution, ExecutionDetail, RetryOptions } from "./types";

export const executionKeys = {
  all: ["executions"] as const,
  // The filters object as the address bar has it, with the page's cursor beside them when past the first page.
  list: ({ filters, cursor }: ListParams) => ["executions", cursor ? { ...filters, cursor } : { ...filters }] as const,
  one: (id: string) => ["execution", id] as const,
  anyOne: ["execution"] as const,
};

// Rows per page: a screenful to scan, and a page the server reads from an index without counting anything.
export const PAGE_SIZE = 50;

export function useExecutions(params: ListParams) {
  const search = searchOf(params);
  search.set("limit", String(PAGE_SIZE));
  return useQuery({
    queryKey: executionKeys.list(params),
    queryFn: () => api<Page<Execution>>(`executions?${search.toString()}`),
    // Keep the rows on screen while the next page or a new filter loads, instead of flashing an empty table.
    placeholderData: keepPreviousData,
    retry: false, // a 400 (a bad filter) will not get better by asking again
  });
}

export function useExecution(id: string) {
  return useQuery({ queryKey: executionKeys.one(id), queryFn: () => api<ExecutionDetail>(`executions/${id}`) });
}

/** The link that streams the CSV of every execution the filters match (the server writes it row by row). */
export function exportHref(filters: ExecutionFilters): string {
  const search = searchOf({ filters }).toString();
  return `/api/v1/executions/export.csv${search ? `?${search}` : ""}`;
}

export type BulkKind = "retry" | "cancel";
export type BulkAnswer = { matched: number; done: number; refused: Record<string, string> };

/**
 * The body of a bulk retry or cancel. A bulk retry's `version` is either the choice ("own"/"latest") or the list
 * filter (a number or id, and then the retry runs on each execution's own version): a version filter therefore
 * rules out "latest", which the dialog says.
 */
export function bulkBody(kind: BulkKind, filters: ExecutionFilters, options: RetryOptions, dryRun: boolean) {
  const body: Record<string, unknown> = { ...filters, dry_run: dryRun };
  if (kind === "retry") {
    body.from = options.from;
    if (!filters.version) body.version = options.version;
  }
  return body;
}

export async function bulkAction(kind: BulkKind, body: Record<string, unknown>): Promise<BulkAnswer> {
  if (kind === "retry") {
    const answer = await api<BulkRetryAnswer>("executions/retry", { method: "POST", body });
    return { matched: answer.matched, done: answer.retried, refused: answer.refused };
  }
  const answer = await api<BulkCancelAnswer>("executions/cancel", { method: "POST", body });
  return { matched: answer.matched, done: answer.cancelled, refused: {} };
}

/** After a change: every list page and every open execution is read again. */
export function useRefreshExecutions() {
  const client = useQueryClient();
  return () =>
    Promise.all([
      client.invalidateQueries({ queryKey: executionKeys.all }),
      client.invalidateQueries({ queryKey: executionKeys.anyOne }),
    ]);
}

/** A 409 means the execution is not as the page shows it (it changed meanwhile): read it again. */
function refreshOnConflict(refresh: () => Promise<unknown>) {
  return (error: unknown) => {
    if (error instanceof ApiError && error.status === 409) void refresh();
  };
}

export function useRetryExecution(id: string) {
  const refresh = useRefreshExecutions();
  return useMutation({
    mutationFn: (options: RetryOptions) => api<Execution>(`executions/${id}/retry`, { method: "POST", body: options }),
    onSuccess: refresh,
    onError: refreshOnConflict(refresh),
  });
}

export function useCancelExecution(id: string) {
  const refresh = useRefreshExecutions();
  return useMutation({
    mutationFn: () => api<Execution>(`executions/${id}/cancel`, { method: "POST" }),
    onSuccess: refresh,
    onError: refreshOnConflict(refresh),
  });
}
