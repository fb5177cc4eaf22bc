import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCanEdit } from "../access/access";
import { api } from "../api/client";
import { queryKeys } from "../api/queries";
import { ErrorNotice } from "../components/ErrorNotice";
import { suggestionsQuery } from "../canvas/canvasQueries";
import { evidenceLines, type Suggestion } from "./evidence";

/** The canvas header's "Suggestions (N)" button and the side panel it opens: each suggestion with its evidence,
 * Apply (a change to the draft; the canvas then reloads the draft) and Dismiss. */
export function SuggestionsButton({ workflowId, saveNow }: { workflowId: string; saveNow: () => Promise<boolean> }) {
  const [open, setOpen] = useState(false);
  // Asked for as the canvas opened (canvasQueries): found there.
  const suggestions = useQuery(suggestionsQuery(workflowId));
  const count = suggestions.data?.length;
  return (
    <>
      <button type="button" onClick={() => setOpen(!open)} aria-expanded={open} aria-controls="suggestions-panel">
        Suggestions{count === undefined ? "" : ` (${count})`}
      </button>
      {open && (
        <aside id="suggestions-panel" className="suggestions-panel" aria-label="Suggestions">
          <header>
            <h2>Suggestions</h2>
            <button type="button" onClick={() => setOpen(false)}>
              Close
            </button>
          </header>
          <ErrorNotice error={suggestions.error} onRetry={() => void suggestions.refetch()} />
          {count === 0 && <p>No suggestions: this workflow's results give no reason to change it yet.</p>}
          <ul>
            {suggestions.data?.map((suggestion) => (
              <SuggestionItem key={suggestion.id} workflowId={workflowId} suggestion={suggestion} saveNow={saveNow} />
            ))}
          </ul>
        </aside>
      )}
    </>
  );
}

function SuggestionItem({ workflowId, suggestion, saveNow }: { workflowId: string; suggestion: Suggestion; saveNow: () => Promise<boolean> }) {
  const client = useQueryClient();
  // A viewer reads the suggestions and their evidence; applying or dismissing one is an editor's.
  const canEdit = useCanEdit();
  const decide = useMutation({
    mutationFn: async (verb: "apply" | "dismiss") => {
      // The change is made to the saved draft: the canvas's edits are saved first so that none is lost.
      if (verb === "apply" && !(await saveNow())) throw new Error("The draft could not be saved: apply again once it is.");
      return api(`workflows/${workflowId}/suggestions/${suggestion.id}/${verb}`, { method: "POST" });
    },
    onSuccess: async (_answer, verb) => {
      await client.invalidateQueries({ queryKey: suggestionsQuery(workflowId).queryKey });
      // The canvas owns the draft once loaded: reset its query so the editor opens again on the changed draft.
      if (verb === "apply") await client.resetQueries({ queryKey: queryKeys.canvas(workflowId) });
    },
  });
  return (
    <li className="suggestion" data-kind={suggestion.kind}>
      <p>{suggestion.message}</p>
      <ul className="suggestion-evidence">
        {evidenceLines(suggestion).map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      {!suggestion.change ? (
        <p className="suggestion-manual">No automatic change: make it on the canvas.</p>
      ) : canEdit && (
        <button type="button" onClick={() => decide.mutate("apply")} disabled={decide.isPending}>
          Apply to the draft
        </button>
      )}
      {canEdit && (
        <button type="button" onClick={() => decide.mutate("dismiss")} disabled={decide.isPending}>
          Dismiss
        </button>
      )}
      <ErrorNotice error={decide.error} />
    </li>
  );
}
