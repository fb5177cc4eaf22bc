import type { Issue } from "../api/types";
import { useCanvas, useGraph } from "./CanvasContext";
import { namedMessage, nodeName } from "./issueNames";

/** The server's errors and warnings on the draft, each with a way to the step it names (named as on the canvas). */
export function IssueList({ errors, warnings, onFocusNode }: { errors: Issue[]; warnings: Issue[]; onFocusNode: (id: string) => void }) {
  const { nodeTypes } = useCanvas();
  const nodes = useGraph((state) => state.nodes);
  if (errors.length === 0 && warnings.length === 0) {
    return <p className="notice notice-ok">The server finds nothing wrong with this draft.</p>;
  }
  const nodeOf = (id: string | undefined) => nodes.find((node) => node.id === id);
  return (
    <ul className="issue-list" aria-label="Problems in this draft">
      {[...errors.map((issue) => ({ issue, level: "error" })), ...warnings.map((issue) => ({ issue, level: "warning" }))].map(
        ({ issue, level }, index) => {
          const node = nodeOf(issue.node_id ?? undefined);
          return (
            <li key={index} className={`issue-${level}`}>
              <strong>{level === "error" ? "Error" : "Warning"}:</strong> {namedMessage(issue.message, nodes, nodeTypes)}
              {issue.node_id && (
                <button
                  type="button"
                  onClick={() => onFocusNode(issue.node_id!)}
                  title={node ? `Show ${nodeName(node, nodeTypes.get(node.type ?? ""))} on the canvas` : undefined}
                >
                  Show the step
                </button>
              )}
            </li>
          );
        },
      )}
    </ul>
  );
}
