import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError } from "../api/client";
import { queryKeys } from "../api/queries";
import type { Issue, Workflow } from "../api/types";
import type { MigrateRequest } from "../versions/migrationPlan";

/** Publish the draft once the canvas is saved; a 422 hands the server's list of errors to `onRefused`. */
export function usePublish(workflow: Workflow, saveNow: () => Promise<boolean>, onRefused: (errors: Issue[]) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (migrate?: MigrateRequest) => {
      if (!(await saveNow())) {
        // Publishing now would publish an older draft than the one on the canvas.
        throw new Error("Not published: the draft on the canvas is not saved yet. Resolve the message above, then publish.");
      }
      // With `migrate`, the answer is the plan applied, beside the new version (CONTRACT §17).
      return api<{ version: number; migration?: { moved: number; exited: number; status: string } }>(
        `workflows/${workflow.id}/publish`,
        { method: "POST", body: migrate ? { migrate } : undefined },
      );
    },
    onSuccess: () => client.invalidateQueries({ queryKey: queryKeys.workflows }),
    onError: (error) => {
      if (error instanceof ApiError && error.status === 422 && Array.isArray(error.details.errors)) {
        onRefused(error.details.errors as Issue[]);
      }
    },
  });
}
