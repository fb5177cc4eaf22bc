import { NodeToolbar, Position } from "@xyflow/react";
import { momentText, type PathHighlight } from "./highlight";

/**
 * Each visited step's number and time, pinned beside it on the canvas. Drawn with React Flow's node toolbar (held
 * open), so the step component itself knows nothing of test mode. Must be rendered inside <ReactFlow>.
 */
export function TestRunBadges({ highlight }: { highlight: PathHighlight | null }) {
  if (!highlight) return null;
  return (
    <>
      {[...highlight.visitsByNode].map(([nodeId, visits]) => (
        <NodeToolbar key={nodeId} nodeId={nodeId} isVisible position={Position.Top} align="start" offset={4}>
          <ol className="test-badge" data-testid={`test-badge-${nodeId}`}>
            {visits.map((visit) => (
              <li key={visit.number}>
                <span className="test-step-number">{visit.number}</span>{" "}
                <time dateTime={visit.at}>{momentText(visit.at)}</time>
              </li>
            ))}
          </ol>
        </NodeToolbar>
      ))}
    </>
  );
}
