import { useState } from "react";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { headline, plural, summaryLines } from "./describeDiff";
import { MigrationSection } from "./MigrationSection";
import "./versions.css";
import { contactsInPlan, useMigrationPlan, type MigrateRequest } from "./migrationPlan";
import type { PublishReadiness } from "./publishReadiness";

interface PublishDialogProps {
  open: boolean;
  onClose: () => void;
  /** Publish; with `migrate`, also move the live contacts of the chosen versions onto the new one. */
  onConfirm: (migrate?: MigrateRequest) => void;
  readiness: PublishReadiness;
  workflowId: string;
  draftRevision: number | undefined;
  canvas: GraphJson;
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>;
}

/** Before publishing: what changes against the live version, and what happens to the contacts already inside. */
export function PublishDialog(props: PublishDialogProps) {
  const { open, onClose, onConfirm, readiness, canvas, nodeTypes, workflowId, draftRevision } = props;
  const { latest, diff, versions } = readiness;
  const next = (latest?.number ?? 0) + 1;
  const inFlight = versions.filter((version) => version.in_flight > 0);
  // Moving contacts is opt-in: by default they stay on the version they entered, as they always have.
  const [chosen, setChosen] = useState<number[]>([]);
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const plan = useMigrationPlan(workflowId, open ? chosen : [], mapping, draftRevision);
  const moving = chosen.length > 0;
  const blocked = moving && (!plan.data || plan.data.refusals.length > 0);
  const confirm = () => onConfirm(moving ? { from_versions: chosen, mapping, dry_run: false } : undefined);
  return (
    <Dialog title={`Publish version ${next}?`} open={open} onClose={onClose}>
      {readiness.error ? (
        <ErrorNotice error={readiness.error} />
      ) : readiness.isLoading ? (
        <p className="loading">Comparing with the published version…</p>
      ) : (
        <div className="publish-summary">
          <h3>What changes</h3>
          {latest && diff ? (
            <>
              <p>
                Against version {latest.number}: {headline(diff, nodeTypes)}
              </p>
              <ul>
                {summaryLines(diff, nodeTypes).map((line, index) => (
                  <li key={index}>{line}</li>
                ))}
              </ul>
            </>
          ) : (
            <p>
              This is the first version: {plural(canvas.nodes?.length ?? 0, "step")} and{" "}
              {plural(canvas.edges?.length ?? 0, "connection")} go live.
            </p>
          )}
          <h3>Contacts already inside</h3>
          {inFlight.length === 0 ? (
            <p>No contact is inside this workflow now.</p>
          ) : (
            <ul>
              {inFlight.map((version) => (
                <li key={version.number}>
                  {plural(version.in_flight, "contact")} on version {version.number}{" "}
                  {chosen.includes(version.number)
                    ? `move to version ${next}, as planned below.`
                    : `stay on version ${version.number} until they finish.`}
                </li>
              ))}
            </ul>
          )}
          {inFlight.length > 0 && (
            <MigrationSection
              next={next}
              inFlight={inFlight}
              chosen={chosen}
              onChoose={setChosen}
              mapping={mapping}
              onMap={setMapping}
              plan={plan.data}
              isLoading={plan.isFetching}
              error={plan.error}
              canvas={canvas}
            />
          )}
          <p>New contacts enter version {next}.</p>
        </div>
      )}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={confirm} disabled={readiness.isLoading || blocked}>
          {moving && plan.data
            ? `Publish version ${next} and move ${plural(contactsInPlan(plan.data), "contact")}`
            : `Publish version ${next}`}
        </button>
      </div>
    </Dialog>
  );
}
