import type { Issue } from "../api/types";

/** The server's errors and warnings on the draft, each with a way to the step it names. */
export function IssueList({ errors, warnings, onFocusNode }: { errors: Issue[]; warnings: Issue[]; onFocusNode: (id: string) => void }) {
  if (errors.length === 0 && warnings.length === 0) {
    return <p className="notice notice-ok">The server finds nothing wrong with this draft.</p>;
  }
  return (
    <ul className="issue-list" aria-label="Problems in this draft">
      {[...errors.map((issue) => ({ issue, level: "error" })), ...warnings.map((issue) => ({ issue, level: "warning" }))].map(
        ({ issue, level }, index) => (
          <li key={index} className={`issue-${level}`}>
            <strong>{level === "error" ? "Error" : "Warning"}:</strong> {issue.message}
            {issue.node_id && (
              <button type="button" onClick={() => onFocusNode(issue.node_id!)}>
                Show the step
              </button>
            )}
          </li>
        ),
      )}
    </ul>
  );
}
