// What the canvas's keys do (useCanvasShortcuts and React Flow's own keys): shown in the help dialog. `reads`: the
// key works on a viewer's read-only canvas too (it changes nothing); the others are not bound there.
export const SHORTCUTS: { keys: string; does: string; reads?: true }[] = [
  { keys: "Ctrl+K or /", does: "Open the command menu: find any step or preset to add, or a canvas command, by typing" },
  { keys: "↑ ↓ then Enter in the command menu", does: "Choose the highlighted step or command; Escape closes the menu" },
  { keys: "Ctrl+Z", does: "Undo (a drag, a paste, a layout, an insertion, a resize or a word typed is one step)" },
  { keys: "Ctrl+Shift+Z or Ctrl+Y", does: "Redo" },
  { keys: "Ctrl+C", does: "Copy the selected steps (paste them in any workflow)", reads: true },
  { keys: "Ctrl+V", does: "Paste the copied steps" },
  { keys: "Ctrl+D", does: "Duplicate the selected steps" },
  { keys: "Delete or Backspace", does: "Delete the selected steps, notes and connections" },
  { keys: "Ctrl+click, or Shift+drag", does: "Select several steps", reads: true },
  { keys: "Tab to a connection's +, then Enter", does: "Insert a step on that connection (the command menu opens to choose it)" },
  { keys: "Enter on a palette item", does: "Add that step in the middle of the view" },
  { keys: "Drop a palette item on a connection", does: "Insert that step between the two steps it joins" },
  { keys: "?", does: "Show these shortcuts", reads: true },
];

/** The shortcuts that work on this canvas: all of them, or on a read-only canvas those that change nothing. */
export function shortcutsFor(readOnly: boolean) {
  return readOnly ? SHORTCUTS.filter((shortcut) => shortcut.reads) : SHORTCUTS;
}
