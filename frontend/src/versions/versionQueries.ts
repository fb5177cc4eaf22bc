// The server state the versions screens read. Every key starts with the list's ("workflows"), so a publish,
// which invalidates that prefix, refreshes the history, the published baseline and the workflow's status.
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { OPENING_FRESH_MS, versionsQuery } from "../api/queries";
import type { Workflow } from "../api/types";
import type { components } from "../api/schema.gen";

export type VersionSummary = components["schemas"]["VersionSummary"];
export type Version = components["schemas"]["Version"];

/** One side of a comparison: the draft, or a published version by number. */
export type Side = "draft" | number;

export const versionKeys = {
  workflow: (id: string) => ["workflows", id, "detail"] as const,
  status: (id: string) => ["workflows", id, "status"] as const,
  list: (id: string) => ["workflows", id, "versions"] as const,
  one: (id: string, number: number) => ["workflows", id, "versions", number] as const,
};

/** The workflow as saved now: a versions screen compares the saved draft, so it is read afresh on each visit. */
export function useWorkflow(id: string) {
  return useQuery({
    queryKey: versionKeys.workflow(id),
    queryFn: () => api<Workflow>(`workflows/${id}`),
    refetchOnMount: "always",
    gcTime: 0,
  });
}

/** The workflow's status, starting from the one the canvas loaded; refetched after a publish. */
export function useWorkflowStatus(workflow: Workflow) {
  return useQuery({
    queryKey: versionKeys.status(workflow.id),
    queryFn: () => api<Workflow>(`workflows/${workflow.id}`).then((fresh) => fresh.status),
    initialData: workflow.status,
    staleTime: Infinity,
  });
}

/** The published versions; `staleTime` lets a screen take the list fetched as it opened (see OPENING_FRESH_MS). */
export function useVersions(id: string, staleTime = 0) {
  return useQuery(versionsQuery(id, staleTime));
}

export function useVersion(id: string, number: number | null) {
  return useQuery({
    queryKey: versionKeys.one(id, number ?? 0),
    queryFn: () => api<Version>(`workflows/${id}/versions/${number}`),
    enabled: number !== null,
    // A published version never changes.
    staleTime: Infinity,
  });
}

/**
 * The latest published version (null when none is), with its graph: what a publish would replace. The canvas asks
 * for it: the list is the one its route fetched as it opened.
 */
export function useLatestVersion(id: string) {
  const versions = useVersions(id, OPENING_FRESH_MS);
  const latest = versions.data?.[0]?.number ?? null;
  const version = useVersion(id, latest);
  return {
    versions,
    latest: latest === null ? null : (version.data ?? undefined),
    isLoading: versions.isLoading || (latest !== null && version.isLoading),
    error: versions.error ?? version.error,
  };
}

export function parseSide(value: string | null | undefined): Side | null {
  if (value === "draft") return "draft";
  if (value && /^\d+$/.test(value) && Number(value) >= 1) return Number(value);
  return null;
}

export function sideName(side: Side): string {
  return side === "draft" ? "the draft" : `version ${side}`;
}
