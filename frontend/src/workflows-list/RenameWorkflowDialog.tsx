import { useState } from "react";
import type { Workflow } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { useWorkflowActions } from "./useWorkflowActions";

export function RenameWorkflowDialog({ workflow, onClose }: { workflow: Workflow; onClose: () => void }) {
  const [name, setName] = useState(workflow.name);
  const { rename } = useWorkflowActions();
  return (
    <Dialog title={`Rename “${workflow.name}”`} open onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          rename.mutate({ id: workflow.id, name: name.trim() }, { onSuccess: onClose });
        }}
      >
        <label htmlFor="rename-workflow">New name</label>
        <input id="rename-workflow" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        <ErrorNotice error={rename.error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={rename.isPending || !name.trim()}>
            Rename
          </button>
        </div>
      </form>
    </Dialog>
  );
}
