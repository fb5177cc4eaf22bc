import { memo } from "react";
import { NodeResizer, type NodeProps } from "@xyflow/react";
import { useCanvas } from "./CanvasContext";
import type { FlowNode } from "./graph";
import { NOTE_LIMITS } from "./notes";
import "./canvasEditing.css";

/** A sticky note: drag it by its bar, type in it, resize it by its corners when selected, delete it by its ×. */
export const StickyNote = memo(function StickyNote({ id, data, selected }: NodeProps<FlowNode>) {
  const { store, readOnly } = useCanvas();
  const { beginGesture, endGesture, updateLabel, onNodesChange } = store.getState();
  return (
    <div className={`sticky-note${selected ? " selected" : ""}`} data-note-id={id}>
      <NodeResizer
        isVisible={selected && !readOnly}
        minWidth={NOTE_LIMITS.minWidth}
        minHeight={NOTE_LIMITS.minHeight}
        maxWidth={NOTE_LIMITS.max}
        maxHeight={NOTE_LIMITS.max}
        // A resize is one step of history, however many moves the pointer makes.
        onResizeStart={beginGesture}
        onResizeEnd={endGesture}
      />
      <div className="sticky-note-bar">
        <span aria-hidden="true">Note</span>
        {!readOnly && (
          <button
            type="button"
            className="nodrag"
            aria-label="Delete this note"
            title="Delete this note (Ctrl+Z brings it back)"
            onClick={() => onNodesChange([{ type: "remove", id }])}
          >
            ×
          </button>
        )}
      </div>
      <textarea
        className="nodrag nowheel nopan"
        aria-label="Note text"
        placeholder="Write a note for the people who edit this workflow…"
        maxLength={NOTE_LIMITS.text}
        value={data.label}
        readOnly={readOnly}
        onChange={(event) => updateLabel(id, event.target.value)}
      />
    </div>
  );
});
