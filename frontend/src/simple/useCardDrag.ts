import { useRef, useState, type DragEvent } from "react";

/**
 * Drag a card onto another to put it in that card's place. The buttons and Alt+arrows do the same from the
 * keyboard; this is for the mouse. `canDrop` is asked while hovering, so a refused place shows no drop target.
 */
export function useCardDrag(canDrop: (from: number, to: number) => boolean, onDrop: (from: number, to: number) => void) {
  const dragging = useRef<number | null>(null);
  const [dropAt, setDropAt] = useState<number | null>(null);
  const dragProps = (index: number, name: string) => ({
    draggable: true,
    onDragStart: (event: DragEvent) => {
      dragging.current = index;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", name);
    },
    onDragOver: (event: DragEvent) => {
      const from = dragging.current;
      if (from === null || !canDrop(from, index)) return;
      event.preventDefault();
      setDropAt(index);
    },
    onDragLeave: () => setDropAt((current) => (current === index ? null : current)),
    onDrop: (event: DragEvent) => {
      event.preventDefault();
      const from = dragging.current;
      if (from !== null) onDrop(from, index);
    },
    onDragEnd: () => {
      dragging.current = null;
      setDropAt(null);
    },
  });
  return { dropAt, dragProps };
}
