import type { GraphJson, NodeTypeInfo } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { headline, plural, summaryLines } from "./describeDiff";
import type { PublishReadiness } from "./publishReadiness";

interface PublishDialogProps {
  open: boolean;
  onClose: () => void;
  onConfirm: () => void;
  readiness: PublishReadiness;
  canvas: GraphJson;
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>;
}

/** Before publishing: what changes against the live version, and what happens to the contacts already inside. */
export function PublishDialog({ open, onClose, onConfirm, readiness, canvas, nodeTypes }: PublishDialogProps) {
  const { latest, diff, versions } = readiness;
  const next = (latest?.number ?? 0) + 1;
  const inFlight = versions.filter((version) => version.in_flight > 0);
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
                  {plural(version.in_flight, "contact")} on version {version.number} stay on version {version.number}{" "}
                  until they finish.
                </li>
              ))}
            </ul>
          )}
          <p>New contacts enter version {next}.</p>
        </div>
      )}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={onConfirm} disabled={readiness.isLoading}>
          Publish version {next}
        </button>
      </div>
    </Dialog>
  );
}
