import { Dialog } from "../components/Dialog";
import { shortcutsFor } from "./shortcutList";

export function ShortcutsDialog({ open, onClose, readOnly }: { open: boolean; onClose: () => void; readOnly: boolean }) {
  return (
    <Dialog title="Keyboard shortcuts" open={open} onClose={onClose}>
      <p className="muted">On a Mac, ⌘ works where Ctrl is written. Keys act on the canvas, not while typing in a field.</p>
      {readOnly && <p className="muted">Your role is viewer: only the keys that change nothing work here.</p>}
      <table className="shortcuts">
        <tbody>
          {shortcutsFor(readOnly).map(({ keys, does }) => (
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
