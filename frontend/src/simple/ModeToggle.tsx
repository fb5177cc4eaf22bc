import { useId } from "react";
import type { EditorMode } from "./modePreference";
import "./simple.css";

interface ModeToggleProps {
  mode: EditorMode;
  notAList: string | null;
  choose: (mode: EditorMode) => void;
}

/** Simple / Graph, in the canvas header. Simple stays focusable when it is off, so its reason can be read. */
export function ModeToggle({ mode, notAList, choose }: ModeToggleProps) {
  const reasonId = useId();
  return (
    <div className="mode-toggle" role="group" aria-label="Editor">
      <button
        type="button"
        className="mode-simple"
        aria-pressed={mode === "simple"}
        aria-disabled={notAList !== null}
        aria-describedby={notAList ? reasonId : undefined}
        title={notAList ? `Simple mode is off: ${notAList}` : "Edit the steps as a list, one after the other"}
        onClick={() => choose("simple")}
      >
        Simple
      </button>
      <button
        type="button"
        className="mode-graph"
        aria-pressed={mode === "graph"}
        title="Edit the workflow as a graph, with branches"
        onClick={() => choose("graph")}
      >
        Graph
      </button>
      {notAList && (
        <span id={reasonId} className="visually-hidden">
          Simple mode is off: {notAList}
        </span>
      )}
    </div>
  );
}
