import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import { queryKeys } from "../api/queries";
import type { Workflow } from "../api/types";

/** The list's writes; each refreshes the list when it succeeds. */
export function useWorkflowActions() {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: queryKeys.workflows });
  return {
    rename: useMutation({
      mutationFn: ({ id, name }: { id: string; name: string }) =>
        api<Workflow>(`workflows/${id}`, { method: "PATCH", body: { name } }),
      onSuccess: refresh,
    }),
    duplicate: useMutation({
      mutationFn: (id: string) => api<Workflow>(`workflows/${id}/duplicate`, { method: "POST" }),
      onSuccess: refresh,
    }),
    archive: useMutation({
      mutationFn: (id: string) => api<Workflow>(`workflows/${id}/archive`, { method: "POST" }),
      onSuccess: refresh,
    }),
    remove: useMutation({
      mutationFn: (id: string) => api<void>(`workflows/${id}`, { method: "DELETE" }),
      onSuccess: refresh,
    }),
  };
}
