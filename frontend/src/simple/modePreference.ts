// Which editor a workflow opens in: the user's last choice for that workflow, kept in this browser.
export type EditorMode = "simple" | "graph";

const KEY_PREFIX = "penguinflow.builder.editor-mode.";

export function readModeChoice(workflowId: string, storage: Storage = localStorage): EditorMode | null {
  try {
    const value = storage.getItem(KEY_PREFIX + workflowId);
    return value === "simple" || value === "graph" ? value : null;
  } catch {
    // Storage refused (private mode, a policy): the default applies.
    return null;
  }
}

export function storeModeChoice(workflowId: string, mode: EditorMode, storage: Storage = localStorage): void {
  try {
    storage.setItem(KEY_PREFIX + workflowId, mode);
  } catch {
    // Not remembered: the next visit opens with the default, nothing else is lost.
  }
}

/** A chain opens as a list unless the user chose the graph for this workflow; anything else opens as a graph. */
export function initialMode(choice: EditorMode | null, isChain: boolean): EditorMode {
  if (!isChain) return "graph";
  return choice ?? "simple";
}
