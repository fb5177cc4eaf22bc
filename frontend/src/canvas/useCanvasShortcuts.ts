import { useEffect } from "react";

// A key whose action is not given does nothing (a viewer's canvas gives only those that read).
export interface ShortcutActions {
  undo?: () => void;
  redo?: () => void;
  copy?: () => void;
  paste?: () => void;
  duplicate?: () => void;
  help: () => void;
  /** Open the command menu. */
  commands?: () => void;
}

/** Ctrl (or ⌘) with Z, Shift+Z or Y, C, V, D, K; ? for help and / for the command menu, on the canvas
 * (ShortcutsDialog lists them);
 * typing in a field keeps the field's own keys. */
export function useCanvasShortcuts(actions: ShortcutActions) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
      if (event.key === "?" && !event.ctrlKey && !event.metaKey) {
        actions.help();
        return;
      }
      if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && actions.commands) {
        event.preventDefault();
        actions.commands();
        return;
      }
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const key = event.key.toLowerCase();
      const action =
        key === "z" ? (event.shiftKey ? actions.redo : actions.undo)
        : key === "y" ? actions.redo
        : key === "c" ? actions.copy
        : key === "v" ? actions.paste
        : key === "d" ? actions.duplicate
        : key === "k" && !event.shiftKey ? actions.commands
        : undefined;
      if (!action) return;
      event.preventDefault();
      action();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [actions]);
}
