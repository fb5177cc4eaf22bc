import { useEffect, useRef } from "react";
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { GraphJson, NodeTypeInfo, Workflow } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { DiffView } from "./DiffView";

interface TheirDraftDialogProps {
  workflowId: string;
  /** The canvas as it is now, with the settings it saves: "mine". */
  mine: GraphJson;
  settings: Record<string, unknown>;
  nodeTypes: NodeTypeInfo[];
  onClose: () => void;
  onKeepMine: () => void;
  onTakeTheirs: () => void;
}

/**
 * After a save conflict: the draft someone else saved, drawn read-only against the canvas, so the user sees what
 * each choice keeps before making it. Looking changes nothing: the canvas is left as it is.
 */
export function TheirDraftDialog({ workflowId, mine, settings, nodeTypes, onClose, onKeepMine, onTakeTheirs }: TheirDraftDialogProps) {
  const theirs = useQuery({
    queryKey: ["workflows", workflowId, "their-draft"],
    queryFn: () => api<Workflow>(`workflows/${workflowId}`),
    gcTime: 0,
    staleTime: 0,
  });
  const draft = theirs.data?.draft;
  // The browser's own modal: focus stays inside, Escape closes it, focus returns to "See their version".
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog their-draft"
      aria-label="Their version of the draft, compared with yours"
      onClose={onClose}
      onCancel={onClose}
    >
      <header className="their-draft-header">
        <h2>Their saved draft, compared with your canvas (read-only)</h2>
        <p>
          Green: only in theirs. Red: only on your canvas. Amber: in both, different. Nothing changes until you
          choose.
        </p>
        <div className="dialog-actions">
          <button type="button" onClick={onKeepMine}>
            Keep my version
          </button>
          <button type="button" onClick={onTakeTheirs}>
            Load their version
          </button>
          <button type="button" onClick={onClose}>
            Close the comparison
          </button>
        </div>
      </header>
      {theirs.error ? (
        <ErrorNotice error={theirs.error} onRetry={() => void theirs.refetch()} />
      ) : !draft ? (
        <p className="loading">Loading their version…</p>
      ) : (
        <DiffView
          before={{ graph: mine, settings }}
          after={{ graph: draft.graph, settings: draft.settings }}
          beforeName="Your canvas"
          afterName="their saved draft"
          nodeTypes={nodeTypes}
        />
      )}
    </dialog>
  );
}
