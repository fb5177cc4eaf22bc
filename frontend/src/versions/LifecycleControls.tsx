import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useCanEdit } from "../access/access";
import { api } from "../api/client";
import { queryKeys } from "../api/queries";
import type { Workflow, WorkflowStatus } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { useWorkflowStatus, versionKeys } from "./versionQueries";
import "./versions.css";

type Action = "pause" | "resume" | "archive";

const STATUS_TEXT: Record<WorkflowStatus, string> = {
  draft: "Draft, not published",
  active: "Active",
  paused: "Paused",
  archived: "Archived",
};

// What each status allows, as the server's transitions do (pause from active, resume from paused, archive from
// anything but archived); the server stays the judge and its refusal is shown in words.
const ACTIONS: Record<WorkflowStatus, Action[]> = {
  draft: ["archive"],
  active: ["pause", "archive"],
  paused: ["resume", "archive"],
  archived: [],
};

const ACTION_TEXT: Record<Action, { label: string; pending: string; title: string }> = {
  pause: { label: "Pause", pending: "Pausing…", title: "Nobody new enters; contacts inside hold where they are until resumed." },
  resume: { label: "Resume", pending: "Resuming…", title: "Contacts continue from where they were held; new ones enter again." },
  archive: { label: "Archive", pending: "Archiving…", title: "Nobody new enters; contacts inside run to their end." },
};

/** The workflow's status and the moves it allows now: pause, resume, archive (archive asks first). */
export function LifecycleControls({ workflow }: { workflow: Workflow }) {
  const client = useQueryClient();
  const status = useWorkflowStatus(workflow);
  const [confirmArchive, setConfirmArchive] = useState(false);
  // A viewer sees the status, and no move of it.
  const canEdit = useCanEdit();
  const change = useMutation({
    mutationFn: (action: Action) => api<Workflow>(`workflows/${workflow.id}/${action}`, { method: "POST" }),
    onSuccess: (updated) => {
      client.setQueryData(versionKeys.status(workflow.id), updated.status);
      void client.invalidateQueries({ queryKey: queryKeys.workflows, exact: true });
    },
    // A refusal (409) usually means the status changed elsewhere: show the status as it is now.
    onError: () => void client.invalidateQueries({ queryKey: versionKeys.status(workflow.id) }),
  });
  const current = status.data;
  const run = (action: Action) => (action === "archive" ? setConfirmArchive(true) : change.mutate(action));
  return (
    <>
      <span className={`status status-${current}`} role="status" aria-label={`Status: ${STATUS_TEXT[current]}`}>
        {STATUS_TEXT[current]}
      </span>
      {canEdit && ACTIONS[current].map((action) => (
        <button
          key={action}
          type="button"
          onClick={() => run(action)}
          disabled={change.isPending}
          title={ACTION_TEXT[action].title}
        >
          {change.isPending && change.variables === action ? ACTION_TEXT[action].pending : ACTION_TEXT[action].label}
        </button>
      ))}
      {change.error && (
        <div className="lifecycle-error">
          <ErrorNotice error={change.error} />
        </div>
      )}
      <Dialog title="Archive this workflow?" open={confirmArchive} onClose={() => setConfirmArchive(false)}>
        <p>
          Nobody new enters an archived workflow, and it cannot be published or resumed again; contacts already inside
          run to their end. To use it again later, duplicate it from the list.
        </p>
        <div className="dialog-actions">
          <button type="button" onClick={() => setConfirmArchive(false)}>
            Cancel
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => {
              setConfirmArchive(false);
              change.mutate("archive");
            }}
          >
            Archive
          </button>
        </div>
      </Dialog>
    </>
  );
}
