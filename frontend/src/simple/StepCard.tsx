import type { KeyboardEvent } from "react";
import { useCanvas, useGraph } from "../canvas/CanvasContext";
import { configSummary } from "./summary";
import { useReferenceNames } from "./useReferenceNames";

interface StepCardProps {
  nodeId: string;
  number: number;
  canMoveUp: boolean;
  canMoveDown: boolean;
  onOpen: () => void;
  /** Move by one place; `control` names the button to keep focused on the moved card. */
  onMove: (by: -1 | 1, control: string) => void;
  onRemove: () => void;
}

/** One step of the list: its type, its name and its settings in one line; open it, move it, remove it. */
export function StepCard({ nodeId, number, canMoveUp, canMoveDown, onOpen, onMove, onRemove }: StepCardProps) {
  const { nodeTypes } = useCanvas();
  const node = useGraph((state) => state.nodes.find((candidate) => candidate.id === nodeId));
  const validation = useGraph((state) => state.validation);
  const info = nodeTypes.get(node?.type ?? "");
  const nameOf = useReferenceNames(node?.data.config ?? {}, info?.config_schema);
  if (!node) return null;
  const typeLabel = info?.label ?? `Unknown type ${node.type}`;
  const name = node.data.label || typeLabel;
  const summary = configSummary(node.data.config, info?.config_schema, nameOf);
  const errors = validation?.errors.filter((issue) => issue.node_id === nodeId) ?? [];
  const warnings = validation?.warnings.filter((issue) => issue.node_id === nodeId) ?? [];

  // Alt+↑ / Alt+↓ anywhere on the card move it, as the buttons do; focus stays on what had it.
  const onKeyDown = (event: KeyboardEvent) => {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    event.preventDefault();
    const by = event.key === "ArrowUp" ? -1 : 1;
    if (by === -1 ? canMoveUp : canMoveDown) onMove(by, (event.target as HTMLElement).dataset.control ?? "open");
  };

  return (
    <div
      className={`step-card kind-${info?.kind ?? "unknown"}${node.selected ? " selected" : ""}${errors.length ? " has-errors" : ""}`}
      onKeyDown={onKeyDown}
    >
      <span className="step-number" aria-hidden="true">
        {number}
      </span>
      <button type="button" className="step-open" data-control="open" onClick={onOpen} aria-current={node.selected ? "true" : undefined}>
        <span className="step-type">{typeLabel}</span>
        <span className="step-label">{name}</span>
        <span className="step-summary">{summary || "Not set up yet: open it to fill in its settings."}</span>
      </button>
      {(errors.length > 0 || warnings.length > 0) && (
        <ul className="step-issues" aria-label={`Problems with “${name}”`}>
          {errors.map((issue, index) => (
            <li key={`e${index}`} className="issue-error">
              {issue.message}
            </li>
          ))}
          {warnings.map((issue, index) => (
            <li key={`w${index}`} className="issue-warning">
              {issue.message}
            </li>
          ))}
        </ul>
      )}
      <div className="step-actions">
        <button type="button" data-control="up" disabled={!canMoveUp} onClick={() => onMove(-1, "up")}
          aria-label={`Move “${name}” up`} title="Move up (Alt+↑)">
          ↑
        </button>
        <button type="button" data-control="down" disabled={!canMoveDown} onClick={() => onMove(1, "down")}
          aria-label={`Move “${name}” down`} title="Move down (Alt+↓)">
          ↓
        </button>
        <button type="button" className="danger" data-control="remove" onClick={onRemove} aria-label={`Remove “${name}”`}>
          Remove
        </button>
      </div>
    </div>
  );
}
