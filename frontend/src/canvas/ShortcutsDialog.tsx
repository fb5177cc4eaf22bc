import { Dialog } from "../components/Dialog";

// What the canvas's keys do (useCanvasShortcuts and React Flow's own keys): shown in the help dialog.
const SHORTCUTS: [keys: string, does: string][] = [
  ["Ctrl+Z", "Undo (a drag, a paste, a layout or a word typed is one step)"],
  ["Ctrl+Shift+Z or Ctrl+Y", "Redo"],
  ["Ctrl+C", "Copy the selected steps (paste them in any workflow)"],
  ["Ctrl+V", "Paste the copied steps"],
  ["Ctrl+D", "Duplicate the selected steps"],
  ["Delete or Backspace", "Delete the selected steps and connections"],
  ["Ctrl+click, or Shift+drag", "Select several steps"],
  ["Enter on a palette item", "Add that step in the middle of the view"],
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
