// A copy of the canvas's draft in localStorage while the session is gone, keyed by the workflow and the draft
// revision its edits are based on: if the tab is closed before the user logs in again, the edits are still on
// this computer, and the canvas offers them back when the workflow is next opened (backupOffer.ts). The copy is
// dropped once the session is back (the held save then goes through).
import { useEffect } from "react";
import type { GraphJson } from "../api/types";
import { toGraphJson } from "../canvas/graph";
import type { GraphStore } from "../canvas/graphStore";
import { isSessionEnded, subscribeSession } from "./sessionState";

const PREFIX = "penguinflow:draft:";

export function draftBackupKey(workflowId: string, revision: number): string {
  return `${PREFIX}${workflowId}:${revision}`;
}

/** A backup as read back: the revision its edits were based on, when it was written, and the graph. */
export interface DraftBackup {
  key: string;
  revision: number;
  savedAt: Date;
  graph: GraphJson;
}

/**
 * Keep the draft in localStorage while the session has ended. `baseRevision` answers the revision the canvas's
 * edits are based on now (the last one saved, not the one the canvas opened at).
 */
export function useDraftBackup(store: GraphStore, workflowId: string, baseRevision: () => number): void {
  useEffect(() => {
    const write = () => {
      if (!isSessionEnded()) return;
      const { nodes, edges } = store.getState();
      try {
        localStorage.setItem(draftBackupKey(workflowId, baseRevision()),
                             JSON.stringify({ savedAt: new Date().toISOString(), graph: toGraphJson(nodes, edges) }));
      } catch {
        // A full or disabled storage: the draft is still in memory and is saved once the user logs in again.
      }
    };
    const stopStore = store.subscribe((state, previous) => {
      if (state.nodes !== previous.nodes || state.edges !== previous.edges) write();
    });
    const stopSession = subscribeSession(() => (isSessionEnded() ? write() : discardBackups(readBackups(workflowId))));
    return () => {
      stopStore();
      stopSession();
    };
  }, [store, workflowId, baseRevision]);
}

/** Every backup of one workflow kept in this browser; unreadable ones are dropped on the way. */
export function readBackups(workflowId: string, storage: Storage = localStorage): DraftBackup[] {
  const prefix = `${PREFIX}${workflowId}:`;
  const backups: DraftBackup[] = [];
  try {
    // The keys first: dropping an unreadable copy while walking the storage would shift the indices.
    const keys = Array.from({ length: storage.length }, (_, index) => storage.key(index));
    for (const key of keys) {
      if (!key?.startsWith(prefix)) continue;
      const backup = parsed(key, Number(key.slice(prefix.length)), storage.getItem(key));
      if (backup) backups.push(backup);
      else storage.removeItem(key);
    }
  } catch {
    // Storage refused (private mode, a policy): there is nothing to offer.
  }
  return backups;
}

function parsed(key: string, revision: number, text: string | null): DraftBackup | null {
  try {
    const value = JSON.parse(text ?? "") as { savedAt?: unknown; graph?: unknown };
    const savedAt = new Date(String(value.savedAt));
    const graph = value.graph as GraphJson | undefined;
    if (!Number.isInteger(revision) || Number.isNaN(savedAt.getTime()) || !graph || !Array.isArray(graph.nodes)) {
      return null;
    }
    return { key, revision, savedAt, graph };
  } catch {
    return null;
  }
}

export function discardBackups(backups: readonly DraftBackup[], storage: Storage = localStorage): void {
  for (const backup of backups) {
    try {
      storage.removeItem(backup.key);
    } catch {
      // Storage refused: the copy stays, and is weighed again next time.
    }
  }
}
