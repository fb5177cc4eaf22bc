// What the canvas asks the server for as it opens, and the hook that asks for all of it at once. This module is in
// the first chunk (the route imports it), so that the requests leave as soon as the route is entered, while the
// canvas's own code is still loading; it must stay small and import nothing of the canvas.
import { useEffect } from "react";
import { queryOptions, useQuery, useQueryClient, type UseQueryOptions } from "@tanstack/react-query";
import { meQuery } from "../access/access";
import { api } from "../api/client";
import {
  actionTemplatesQuery, nodeTypesQuery, OPENING_FRESH_MS, queryKeys, triggerTemplatesQuery, versionsQuery,
} from "../api/queries";
import type { ValidationReport, Workflow } from "../api/types";
import type { TemplateOrigin } from "../marketplace/types";
import type { Suggestion } from "../suggestions/evidence";

/**
 * The workflow with its draft. The editor owns the draft once it is open: nothing refetches it under the user's
 * hands (its key is outside the list's, which writes invalidate), and it is dropped on leaving (no observer then),
 * so reopening loads the saved draft.
 */
export function canvasWorkflowQuery(workflowId: string) {
  return queryOptions({
    queryKey: queryKeys.canvas(workflowId),
    queryFn: () => api<Workflow>(`workflows/${workflowId}`),
    staleTime: Infinity,
    gcTime: 0,
  });
}

/**
 * The server's findings on the draft as saved, before any edit. Under the canvas's key: resetting the canvas (a
 * suggestion applied to the saved draft) checks the new draft again; and like the draft, dropped on leaving.
 */
export function loadedValidationQuery(workflowId: string) {
  return queryOptions({
    queryKey: [...queryKeys.canvas(workflowId), "validation"] as const,
    queryFn: () => api<ValidationReport>(`workflows/${workflowId}/validate`, { method: "POST", body: {} }),
    staleTime: Infinity,
    gcTime: 0,
  });
}

/** The workflow's open suggestions (the header's "Suggestions (N)"); applying or dismissing one refetches them. */
export function suggestionsQuery(workflowId: string) {
  return queryOptions({
    queryKey: ["workflows", workflowId, "suggestions"] as const,
    queryFn: () => api<Suggestion[]>(`workflows/${workflowId}/suggestions`),
    staleTime: OPENING_FRESH_MS,
  });
}

/** The template a workflow was installed from, and whether it has a newer version. */
export function templateOriginQuery(workflowId: string) {
  return queryOptions({
    queryKey: ["workflows", workflowId, "template-origin"] as const,
    queryFn: () => api<TemplateOrigin>(`workflows/${workflowId}/template-origin`),
    staleTime: 5 * 60_000,
  });
}

// Kept alive without re-rendering the route: the parts of the canvas that show each answer read it themselves.
const SILENT = { notifyOnChangeProps: [] } satisfies Partial<UseQueryOptions>;

/**
 * Ask for everything the canvas shows as soon as the route is entered, not once the editor has mounted: first
 * what the editor cannot open without (the workflow, the node types, the presets), while the canvas's chunk is
 * still loading; then, the moment those are in (before the editor draws the graph), what it shows once open (the
 * suggestions, the published versions, the template's news, the findings on the saved draft). Not all eight at
 * once: one Python process answers them, and the later ones (checking a 500-step draft, the suggestions) slowed
 * down the first ones, which the editor waits for (bench builder: the workflow's own request took 1,150 ms
 * beside them against 115 ms before, on a machine 2.4 times as busy). None of the later ones holds the editor
 * back. The route's observers keep the answers (and the draft's "drop on leaving") for the canvas's own hooks.
 */
export function useCanvasOpening(workflowId: string): void {
  const client = useQueryClient();
  useQuery({ ...canvasWorkflowQuery(workflowId), ...SILENT });
  useQuery({ ...nodeTypesQuery, ...SILENT });
  useQuery({ ...triggerTemplatesQuery, ...SILENT });
  useQuery({ ...actionTemplatesQuery, ...SILENT });
  useQuery({ ...meQuery, ...SILENT });
  // Not fetched by these observers: they hold the answers fetched below until the editor's own hooks read them.
  useQuery({ ...suggestionsQuery(workflowId), ...SILENT, enabled: false });
  useQuery({ ...versionsQuery(workflowId, OPENING_FRESH_MS), ...SILENT, enabled: false });
  useQuery({ ...templateOriginQuery(workflowId), ...SILENT, enabled: false });
  useQuery({ ...loadedValidationQuery(workflowId), ...SILENT, enabled: false });
  useEffect(() => {
    let left = false;
    // The requests under way are joined, not sent again. A failure leaves the rest to the editor's hooks.
    void Promise.all([
      client.ensureQueryData(canvasWorkflowQuery(workflowId)),
      client.ensureQueryData(nodeTypesQuery),
      client.ensureQueryData(triggerTemplatesQuery),
      client.ensureQueryData(actionTemplatesQuery),
      client.ensureQueryData(meQuery),
    ]).then(
      () => {
        if (left) return;
        void client.prefetchQuery(suggestionsQuery(workflowId));
        void client.prefetchQuery(versionsQuery(workflowId, OPENING_FRESH_MS));
        void client.prefetchQuery(templateOriginQuery(workflowId));
        void client.prefetchQuery(loadedValidationQuery(workflowId));
      },
      () => undefined,
    );
    return () => {
      left = true;
    };
  }, [client, workflowId]);
}
