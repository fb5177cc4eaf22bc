import { useDeferredValue, useState } from "react";
import type { GraphJson, NodeTypeInfo, Workflow } from "../api/types";
import type { MigrateRequest } from "./migrationPlan";
import { PublishDialog } from "./PublishDialog";
import { usePublishReadiness } from "./publishReadiness";
import { useWorkflowStatus } from "./versionQueries";

interface PublishButtonProps {
  workflow: Workflow;
  canvas: GraphJson;
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>;
  /** Why the editor refuses a publish now (errors, a conflict), or null when it does not. */
  blockedBecause: string | null;
  isPending: boolean;
  publish: (migrate?: MigrateRequest) => void;
}

/**
 * Publish, after a summary of what changes and of who stays on which version. Off while the canvas is the
 * latest published version: there is nothing new to publish until the draft changes again.
 */
export function PublishButton({ workflow, canvas, nodeTypes, blockedBecause, isPending, publish }: PublishButtonProps) {
  const [open, setOpen] = useState(false);
  // Compared at low priority: typing in a step's settings changes the canvas on every key, and the answer can wait.
  const deferredCanvas = useDeferredValue(canvas);
  const readiness = usePublishReadiness(workflow.id, deferredCanvas, workflow.draft?.settings ?? {});
  const status = useWorkflowStatus(workflow).data;
  const unchangedReason = readiness.unchanged && readiness.latest
    ? `Nothing to publish: the draft is the same as version ${readiness.latest.number}.`
    : null;
  const archivedReason =
    status === "archived" ? "An archived workflow cannot be published: duplicate it from the list instead." : null;
  const reason = blockedBecause ?? archivedReason ?? unchangedReason;
  return (
    <>
      {unchangedReason && !blockedBecause && !archivedReason && <span className="save-status">Version {readiness.latest?.number} is live</span>}
      <button
        type="button"
        className="primary"
        disabled={reason !== null || isPending}
        title={reason ?? undefined}
        onClick={() => {
          // The counts of contacts inside move all the time: read them again for the summary.
          void readiness.refresh();
          setOpen(true);
        }}
      >
        {isPending ? "Publishing…" : "Publish"}
      </button>
      <PublishDialog
        open={open}
        onClose={() => setOpen(false)}
        onConfirm={(migrate) => {
          setOpen(false);
          publish(migrate);
        }}
        readiness={readiness}
        workflowId={workflow.id}
        draftRevision={workflow.draft?.revision}
        canvas={canvas}
        nodeTypes={nodeTypes}
      />
    </>
  );
}
