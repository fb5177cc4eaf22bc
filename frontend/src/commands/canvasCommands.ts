import type { CanvasCommand } from "./commandLogic";

export interface CanvasCommandActions {
  addNote: () => void;
  tidyUp: () => void;
  fitView: () => void;
  undo: () => void;
  redo: () => void;
  publish: () => void;
  help: () => void;
}

export interface CanvasCommandState {
  canUndo: boolean;
  canRedo: boolean;
  canTidy: boolean;
  /** Why Publish cannot run now, or null when it can. */
  publishBlockedBecause: string | null;
}

/** The canvas's own commands, as the command menu lists them (the header's buttons do the same). */
export function canvasCommands(actions: CanvasCommandActions, state: CanvasCommandState): CanvasCommand[] {
  return [
    { id: "add-note", label: "Add a sticky note", keywords: "comment text memo", run: actions.addNote },
    {
      id: "tidy-up", label: "Tidy up", keywords: "layout arrange auto", run: actions.tidyUp,
      disabledBecause: state.canTidy ? null : "Needs two steps or more",
    },
    { id: "fit-view", label: "Fit the view", keywords: "zoom show all center", run: actions.fitView },
    {
      id: "undo", label: "Undo", shortcut: "Ctrl+Z", run: actions.undo,
      disabledBecause: state.canUndo ? null : "Nothing to undo",
    },
    {
      id: "redo", label: "Redo", shortcut: "Ctrl+Shift+Z", run: actions.redo,
      disabledBecause: state.canRedo ? null : "Nothing to redo",
    },
    {
      id: "publish", label: "Publish", keywords: "release activate version", run: actions.publish,
      disabledBecause: state.publishBlockedBecause,
    },
    { id: "shortcuts", label: "Keyboard shortcuts", keywords: "help keys", shortcut: "?", run: actions.help },
  ];
}
