import { Dialog } from "../components/Dialog";

// What the canvas's keys do (useCanvasShortcuts and React Flow's own keys): shown in the help dialog.
export const SHORTCUTS: [keys: string, does: string][] = [
  ["Ctrl+K or /", "Open the command menu: find any step or preset to add, or a canvas command, by typing"],
  ["↑ ↓ then Enter in the command menu", "Choose the highlighted step or command; Escape closes the menu"],
  ["Ctrl+Z", "Undo (a drag, a paste, a layout, an insertion, a resize or a word typed is one step)"],
  ["Ctrl+Shift+Z or Ctrl+Y", "Redo"],
  ["Ctrl+C", "Copy the selected steps (paste them in any workflow)"],
  ["Ctrl+V", "Paste the copied steps"],
  ["Ctrl+D", "Duplicate the selected steps"],
  ["Delete or Backspace", "Delete the selected steps, notes and connections"],
  ["Ctrl+click, or Shift+drag", "Select several steps"],
  ["Tab to a connection's +, then Enter", "Insert a step on that connection (the command menu opens to choose it)"],
  ["Enter on a palette item", "Add that step in the middle of the view"],
  ["Drop a palette item on a connection", "Insert that step between the two steps it joins"],
  ["?", "Show these shortcuts"],
];

export function ShortcutsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" open={open} onClose={onClose}>
      <p className="muted">On a Mac, ⌘ works where Ctrl is written. Keys act on the canvas, not while typing in a field.</p>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map(([keys, does]) => (
            <tr key={keys}>
              <th scope="row">
                <kbd>{keys}</kbd>
              </th>
              <td>{does}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
