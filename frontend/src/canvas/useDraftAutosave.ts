import { useCallback, useEffect, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, ApiError } from "../api/client";
import type { DraftSaved, Workflow } from "../api/types";
import { loadedValidationQuery } from "./canvasQueries";
import { fromGraphJson, toGraphJson } from "./graph";
import type { GraphState, GraphStore } from "./graphStore";

export const AUTOSAVE_DELAY_MS = 800;

export type SaveStatus =
  | { kind: "saved" }
  | { kind: "pending" }
  | { kind: "saving" }
  | { kind: "conflict" }
  | { kind: "error"; error: unknown };

type Drawn = Pick<GraphState, "nodes" | "edges">;

/** Whether the draft may have changed between two states: a node's place, type or data, or an edge, is another. */
export function draftMayDiffer(before: Drawn, after: Drawn): boolean {
  if (before.nodes !== after.nodes) {
    if (before.nodes.length !== after.nodes.length) return true;
    for (let index = 0; index < after.nodes.length; index++) {
      const a = before.nodes[index]!;
      const b = after.nodes[index]!;
      if (a.id !== b.id || a.type !== b.type || a.position !== b.position || a.data !== b.data) return true;
    }
  }
  if (before.edges !== after.edges) {
    if (before.edges.length !== after.edges.length) return true;
    for (let index = 0; index < after.edges.length; index++) {
      const a = before.edges[index]!;
      const b = after.edges[index]!;
      if (a.id !== b.id || a.source !== b.source || a.target !== b.target || a.sourceHandle !== b.sourceHandle ||
          a.label !== b.label) return true;
    }
  }
  return false;
}

/**
 * Follow the edits of the draft: `edited` on each, then `save` once it may be saved. Steps moved by a drag are
 * saved (and checked by the server) when they come to rest: during the drag, `hold` stops a save already due.
 * Answer the unsubscribe.
 */
export function watchDraftEdits(
  store: GraphStore,
  { edited, save, hold }: { edited: () => void; save: () => void; hold: () => void },
): () => void {
  let movedInGesture = false;
  return store.subscribe((state, previous) => {
    if (previous.moving && !state.moving && movedInGesture) {
      movedInGesture = false;
      save();
      return;
    }
    // Selecting or measuring a node changes no draft: only a changed draft is an edit to save. The check is by
    // reference (no serialising of the whole graph on each frame of a drag); the save compares texts.
    if (!draftMayDiffer(previous, state)) return;
    edited();
    if (state.moving) {
      movedInGesture = true;
      hold();
    } else {
      save();
    }
  });
}

function draftText(store: GraphStore): string {
  const { nodes, edges } = store.getState();
  return JSON.stringify(toGraphJson(nodes, edges));
}

/**
 * Save the draft a moment after each edit, with the revision it was loaded at. A 409 (someone else saved in
 * between) stops saving until the user chooses whose version to keep; the canvas keeps what they typed either way
 * (taking the other version is itself a step of history, so undo brings theirs back).
 */
export function useDraftAutosave(store: GraphStore, workflow: Workflow, { readOnly }: { readOnly: boolean }) {
  const draft = workflow.draft;
  const revision = useRef(draft?.revision ?? 1);
  // Read once, not on every render: the editor redraws on every frame of a drag, and this serialises the graph.
  const [loadedText] = useState(() => draftText(store));
  const lastSaved = useRef(loadedText);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const saving = useRef<Promise<unknown> | null>(null);
  const blocked = useRef(false);
  const [status, setStatus] = useState<SaveStatus>({ kind: "saved" });

  /** Save the canvas now; answer whether the server then holds the draft the canvas shows. */
  const saveNow = useCallback(async (): Promise<boolean> => {
    clearTimeout(timer.current);
    if (saving.current) await saving.current.catch(() => undefined);
    if (blocked.current) return false;
    const text = draftText(store);
    // A viewer's canvas saves nothing (the API would refuse): the server holds what it shows, unless it was changed.
    if (readOnly) return text === lastSaved.current;
    if (text === lastSaved.current) {
      setStatus({ kind: "saved" });
      return true;
    }
    setStatus({ kind: "saving" });
    const request = api<DraftSaved>(`workflows/${workflow.id}/draft`, {
      method: "PUT",
      body: { graph: JSON.parse(text), settings: draft?.settings ?? {}, revision: revision.current },
    }).then(
      (saved) => {
        revision.current = saved.revision;
        lastSaved.current = text;
        store.getState().setValidation(saved.validation);
        setStatus(draftText(store) === text ? { kind: "saved" } : { kind: "pending" });
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 409) {
          blocked.current = true;
          setStatus({ kind: "conflict" });
        } else {
          setStatus({ kind: "error", error });
        }
        throw error;
      },
    );
    saving.current = request;
    const failed = await request.then(() => false, () => true);
    saving.current = null;
    // Edits made during the save go next; after a failure, the next edit or Retry tries again (no retry loop
    // against a server that refuses, or a session that has ended).
    const current = draftText(store) === lastSaved.current;
    if (!failed && !blocked.current && !current) schedule();
    return !failed && current;
  }, [store, workflow.id, draft?.settings, readOnly]);

  const schedule = useCallback(() => {
    clearTimeout(timer.current);
    if (blocked.current) return;
    timer.current = setTimeout(() => void saveNow(), AUTOSAVE_DELAY_MS);
  }, [saveNow]);

  useEffect(
    () =>
      readOnly ? undefined : watchDraftEdits(store, {
        edited: () =>
          setStatus((current) => (current.kind === "conflict" || current.kind === "pending" ? current : { kind: "pending" })),
        save: schedule,
        hold: () => clearTimeout(timer.current),
      }),
    [store, schedule, readOnly],
  );

  // The server's findings on the draft as loaded, before any edit (asked for as the route opened: canvasQueries).
  // A save's findings are newer: the loaded draft's do not replace them when they come back after one.
  const loadedFindings = useQuery(loadedValidationQuery(workflow.id));
  useEffect(() => {
    if (loadedFindings.data && store.getState().validation === null) store.getState().setValidation(loadedFindings.data);
  }, [store, loadedFindings.data]);
  useEffect(() => {
    if (loadedFindings.error) setStatus({ kind: "error", error: loadedFindings.error });
  }, [loadedFindings.error]);

  // Leaving with unsaved edits: the browser asks first.
  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      if (draftText(store) !== lastSaved.current) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => {
      window.removeEventListener("beforeunload", warn);
      clearTimeout(timer.current);
    };
  }, [store]);

  const latest = () => api<Workflow>(`workflows/${workflow.id}`);

  /** Resolve a conflict by writing this canvas over the version saved meanwhile. */
  const keepMine = async () => {
    try {
      const current = await latest();
      revision.current = current.draft?.revision ?? revision.current;
      blocked.current = false;
      await saveNow();
    } catch (error) {
      setStatus({ kind: "error", error });
    }
  };

  /** Resolve a conflict by loading the version saved meanwhile (undo brings this canvas back). */
  const takeTheirs = async () => {
    try {
      const current = await latest();
      if (!current.draft) return;
      revision.current = current.draft.revision;
      const graph = fromGraphJson(current.draft.graph);
      store.getState().load(graph);
      lastSaved.current = draftText(store);
      blocked.current = false;
      setStatus({ kind: "saved" });
    } catch (error) {
      setStatus({ kind: "error", error });
    }
  };

  /** The revision the canvas's edits are based on: the last one saved (a session backup is keyed by it). */
  const baseRevision = useCallback(() => revision.current, []);

  return { status, saveNow, keepMine, takeTheirs, baseRevision };
}
