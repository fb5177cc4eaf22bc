import { queryOptions, useQuery } from "@tanstack/react-query";
import { api } from "./client";
import type { Contact, NodeTypeInfo, Page, Preset, VersionSummary, WorkflowAnalytics, WorkflowListItem } from "./types";

// The server's page size limit: the list page shows up to this many workflows (sorting is done in the browser).
export const WORKFLOW_PAGE_LIMIT = 500;

export const queryKeys = {
  workflows: ["workflows"] as const,
  canvas: (id: string) => ["canvas", id] as const,
  analytics: (id: string) => ["workflows", id, "analytics"] as const,
  nodeTypes: ["node-types"] as const,
  triggerTemplates: ["trigger-templates"] as const,
  actionTemplates: ["action-templates"] as const,
  versions: (id: string) => ["workflows", id, "versions"] as const,
  contactSearch: (q: string) => ["contacts", "search", q] as const,
};

/**
 * How long an answer fetched as a screen opens counts as fresh: the parts of the screen that read it mount only a
 * moment later (once the screen's code and main data are in), and must not ask for it again.
 */
export const OPENING_FRESH_MS = 60_000;

// How often the list refreshes its counts while the page is in view (TanStack pauses it in a hidden tab).
export const WORKFLOW_LIST_REFRESH_MS = 15_000;

/**
 * The workflows, each with its enrollment counts (in the list answer itself), refreshed while in view every
 * `refreshMs` (false: never; a screen with a live socket refreshes them on its messages instead).
 */
export function useWorkflows({ refreshMs = WORKFLOW_LIST_REFRESH_MS }: { refreshMs?: number | false } = {}) {
  return useQuery({
    queryKey: queryKeys.workflows,
    queryFn: () => api<Page<WorkflowListItem>>(`workflows?limit=${WORKFLOW_PAGE_LIMIT}`).then((page) => page.results),
    refetchInterval: refreshMs,
  });
}

/**
 * Enrollment counts (and step counts) of one workflow, refreshed while the page is in view. The list page reads
 * its counts from the list answer instead (useWorkflows): one request for the page, not one per row.
 */
export function useWorkflowCounts(id: string) {
  return useQuery({
    queryKey: queryKeys.analytics(id),
    queryFn: () => api<WorkflowAnalytics>(`workflows/${id}/analytics`),
    refetchInterval: 30_000,
  });
}

// Each query's options, given once: the hooks below read them, and so does whoever fetches the same answer ahead of
// the screen that shows it (the canvas route starts its requests before the canvas's code has arrived).
export const nodeTypesQuery = queryOptions({
  queryKey: queryKeys.nodeTypes,
  queryFn: () => api<NodeTypeInfo[]>("node-types"),
  staleTime: Infinity,
});

export const triggerTemplatesQuery = queryOptions({
  queryKey: queryKeys.triggerTemplates,
  queryFn: () => api<Preset[]>("trigger-templates"),
  staleTime: Infinity,
});

export const actionTemplatesQuery = queryOptions({
  queryKey: queryKeys.actionTemplates,
  queryFn: () => api<Preset[]>("action-templates"),
  staleTime: Infinity,
});

/** The published versions, newest first; `staleTime` lets a screen take the list fetched just before it opened. */
export function versionsQuery(id: string, staleTime = 0) {
  return queryOptions({
    queryKey: queryKeys.versions(id),
    queryFn: () => api<VersionSummary[]>(`workflows/${id}/versions`),
    staleTime,
  });
}

export function useNodeTypes() {
  return useQuery(nodeTypesQuery);
}

export function useTriggerTemplates() {
  return useQuery(triggerTemplatesQuery);
}

export function useActionTemplates() {
  return useQuery(actionTemplatesQuery);
}

export function useWorkflowVersions(id: string) {
  return useQuery(versionsQuery(id));
}

/** Contacts whose email or name match `q` (the list's `q` filter), the first page only; nothing for an empty q. */
export function useContactSearch(q: string) {
  return useQuery({
    queryKey: queryKeys.contactSearch(q),
    queryFn: () => api<Page<Contact>>(`contacts?q=${encodeURIComponent(q)}&limit=10`).then((page) => page.results),
    enabled: q.trim().length > 0,
  });
}
