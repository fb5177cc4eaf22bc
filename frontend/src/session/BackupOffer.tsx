// Offered when the canvas opens: the edits kept in this browser while the session had ended (the tab was closed
// before logging in again), if the server's draft has not moved on since. Restored as one step of history (undo
// brings the saved draft back), then saved by the autosave like any edit; declined, the copy is dropped.
import { useEffect, useState } from "react";
import type { Workflow } from "../api/types";
import { fromGraphJson, toGraphJson } from "../canvas/graph";
import type { GraphStore } from "../canvas/graphStore";
import { backupChanges, weighBackups } from "./backupOffer";
import { type DraftBackup, discardBackups, readBackups } from "./draftBackup";
import "./session.css";

export function BackupOffer({ store, workflow }: { store: GraphStore; workflow: Workflow }) {
  const [server] = useState(() => {
    const { nodes, edges } = fromGraphJson(workflow.draft?.graph ?? { nodes: [], edges: [] });
    return { revision: workflow.draft?.revision ?? 1, graph: toGraphJson(nodes, edges) };
  });
  const [offer, setOffer] = useState<DraftBackup | null>(null);
  useEffect(() => {
    const { offer: worth, discard } = weighBackups(readBackups(workflow.id), server);
    discardBackups(discard);
    setOffer(worth);
  }, [workflow.id, server]);
  if (!offer) return null;

  const restore = () => {
    store.getState().applyGraph(fromGraphJson(offer.graph));
    discardBackups([offer]);
    setOffer(null);
  };
  const decline = () => {
    discardBackups([offer]);
    setOffer(null);
  };
  const changes = backupChanges(offer.graph, server.graph);
  return (
    <section className="notice notice-warning backup-offer" aria-labelledby="backup-offer-title">
      <div>
        <p id="backup-offer-title">
          <strong>Edits kept in this browser were never saved.</strong> They were kept at{" "}
          {offer.savedAt.toLocaleString()}, when your session had ended, and were made on revision {offer.revision}
          {offer.revision === server.revision
            ? `, which is still the saved draft's revision.`
            : `; the saved draft is at revision ${server.revision}.`}
        </p>
        {changes.length > 0 && <p>Against the saved draft: {changes.join("; ")}.</p>}
        <p>Restore them to carry on where you were (Undo brings the saved draft back), or discard them.</p>
      </div>
      <div className="backup-offer-actions">
        <button type="button" onClick={restore}>Restore my edits</button>
        <button type="button" onClick={decline}>Discard them</button>
      </div>
    </section>
  );
}
