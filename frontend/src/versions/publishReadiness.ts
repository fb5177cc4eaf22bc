import { useMemo } from "react";
import type { GraphJson } from "../api/types";
import { diffGraphs, hasAnyDifference, type GraphDiff } from "./graphDiff";
import { useLatestVersion } from "./versionQueries";

/**
 * What a publish would change: the canvas against the latest published version. `unchanged` holds when the
 * canvas is that version (moves included), so Publish stays off right after a publish, until the next edit.
 */
export function usePublishReadiness(workflowId: string, canvas: GraphJson, settings: Record<string, unknown>) {
  const { latest, versions, isLoading, error } = useLatestVersion(workflowId);
  const diff = useMemo<GraphDiff | null>(
    () => (latest ? diffGraphs({ graph: latest.graph, settings: latest.settings }, { graph: canvas, settings }) : null),
    [latest, canvas, settings],
  );
  return {
    latest: latest ?? null,
    versions: versions.data ?? [],
    diff,
    isLoading,
    error,
    unchanged: diff !== null && !hasAnyDifference(diff),
    refresh: () => versions.refetch(),
  };
}

export type PublishReadiness = ReturnType<typeof usePublishReadiness>;
