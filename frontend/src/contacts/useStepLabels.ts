import { useQueries } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Version } from "../versions/versionQueries";
import { versionKeys } from "../versions/versionQueries";

/**
 * The label each step has in the version an enrollment runs on ("Wait a day" rather than `d`). A published
 * version never changes, so each is read once and shared with the versions screens' cache.
 */
export function useStepLabels(runs: readonly { workflow: string; version: number }[]) {
  const wanted = [...new Map(runs.map((run) => [`${run.workflow}/${run.version}`, run])).values()];
  const versions = useQueries({
    queries: wanted.map((run) => ({
      queryKey: versionKeys.one(run.workflow, run.version),
      queryFn: () => api<Version>(`workflows/${run.workflow}/versions/${run.version}`),
      staleTime: Infinity,
    })),
  });
  const labels = new Map<string, string>();
  wanted.forEach((run, index) => {
    for (const node of versions[index]?.data?.graph.nodes ?? []) {
      const label = node.data?.label;
      if (label) labels.set(`${run.workflow}/${run.version}/${node.id}`, label);
    }
  });
  return (workflow: string, version: number, nodeId: string): string | undefined =>
    labels.get(`${workflow}/${version}/${nodeId}`);
}
