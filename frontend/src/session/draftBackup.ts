// A copy of the canvas's draft in localStorage while the session is gone, keyed by the workflow and the draft
// revision the canvas was loaded at: if the tab is closed before the user logs in again, the edits are still on
// this computer. The copy is dropped once the session is back (the held save then goes through).
import { useEffect } from "react";
import { toGraphJson } from "../canvas/graph";
import type { GraphStore } from "../canvas/graphStore";
import { isSessionEnded, subscribeSession } from "./sessionState";

export function draftBackupKey(workflowId: string, revision: number): string {
  return `penguinflow:draft:${workflowId}:${revision}`;
}

export function useDraftBackup(store: GraphStore, workflowId: string, revision: number): void {
  useEffect(() => {
    const key = draftBackupKey(workflowId, revision);
    const write = () => {
      if (!isSessionEnded()) return;
      const { nodes, edges } = store.getState();
      try {
        localStorage.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), graph: toGraphJson(nodes, edges) }));
      } catch {
        // A full or disabled storage: the draft is still in memory and is saved once the user logs in again.
      }
    };
    const stopStore = store.subscribe((state, previous) => {
      if (state.nodes !== previous.nodes || state.edges !== previous.edges) write();
    });
    const stopSession = subscribeSession(() => (isSessionEnded() ? write() : localStorage.removeItem(key)));
    return () => {
      stopStore();
      stopSession();
    };
  }, [store, workflowId, revision]);
}
