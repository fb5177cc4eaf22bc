import { useMemo, useRef } from "react";
import { useCanvas } from "./CanvasContext";
import { copySelection, readCopied, storeCopied, type CopiedSteps } from "./graph";

// Pasted steps land this far from the copied ones, and further on each paste, so that copies never hide each other.
const PASTE_STEP = 40;

/** Copy, paste and duplicate the selected steps; what was copied is kept for any workflow's canvas. */
export function useClipboard(say: (message: string | null) => void) {
  const { store } = useCanvas();
  const pastes = useRef(0);
  return useMemo(() => {
    const selection = () => copySelection(store.getState().nodes, store.getState().edges);
    const pasteAt = (copied: CopiedSteps) => {
      pastes.current += 1;
      store.getState().paste(copied, { x: PASTE_STEP * pastes.current, y: PASTE_STEP * pastes.current });
    };
    return {
      copy: () => {
        const copied = selection();
        if (!copied) return say("Select one or more steps to copy (Ctrl+click adds a step to the selection).");
        storeCopied(copied);
        pastes.current = 0;
        say(null);
      },
      paste: () => {
        const copied = readCopied();
        if (!copied) return say("Nothing is copied yet: select steps and press Ctrl+C (or Copy), then paste.");
        pasteAt(copied);
        say(null);
      },
      duplicate: () => {
        const copied = selection();
        if (!copied) return say("Select one or more steps to duplicate.");
        pastes.current = 0;
        pasteAt(copied);
        say(null);
      },
    };
  }, [store, say]);
}
