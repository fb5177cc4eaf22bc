import { ApiError } from "../api/client";
import { useWorkflowCounts } from "../api/queries";
import type { Workflow } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { deletionLoss, plural } from "./listLogic";
import { useWorkflowActions } from "./useWorkflowActions";

/** Ask before deleting, naming what goes with the workflow; a 409 (contacts still in it) is explained. */
export function DeleteWorkflowDialog({ workflow, onClose }: { workflow: Workflow; onClose: () => void }) {
  const counts = useWorkflowCounts(workflow.id);
  const { remove } = useWorkflowActions();
  const enrollments = counts.data?.enrollments;
  const live = enrollments ? enrollments.active + enrollments.waiting : null;
  const finished = enrollments ? enrollments.completed + enrollments.exited + enrollments.failed : null;
  const loss = deletionLoss(workflow, {
    draftSteps: workflow.draft?.graph.nodes?.length ?? 0,
    publishedVersions: workflow.published_version ?? 0,
    finishedEnrollments: finished,
    liveEnrollments: live,
  });
  const conflict = remove.error instanceof ApiError && remove.error.status === 409 ? remove.error : null;
  const stillIn = conflict?.details.live_enrollments;
  const who = typeof stillIn === "number" ? (stillIn === 1 ? "1 contact is" : `${stillIn} contacts are`) : "contacts are";
  return (
    <Dialog title={`Delete “${workflow.name}”?`} open onClose={onClose}>
      <p>{loss}</p>
      {live !== null && live > 0 && (
        <p className="notice notice-warning">
          {live === 1 ? "1 contact is" : `${plural(live, "contact")} are`} in this workflow right now. It cannot be
          deleted until they have left it: archive it first so that nobody new enters.
        </p>
      )}
      {conflict ? (
        <p className="notice notice-error" role="alert">
          Not deleted: {who} still going through “{workflow.name}”. Archive or pause it, let them finish, then delete it. (The server said:{" "}
          {conflict.message})
        </p>
      ) : (
        <ErrorNotice error={remove.error} />
      )}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Keep it
        </button>
        <button
          type="button"
          className="danger"
          disabled={remove.isPending}
          onClick={() => remove.mutate(workflow.id, { onSuccess: onClose })}
        >
          {remove.isPending ? "Deleting…" : "Delete for good"}
        </button>
      </div>
    </Dialog>
  );
}
