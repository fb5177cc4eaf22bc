import { Link } from "react-router";
import { contactOf, errorOf, type Execution } from "./types";
import { momentText, STATUS_WORDS } from "./words";

interface ExecutionTableProps {
  executions: Execution[];
  workflowNames: ReadonlyMap<string, string>;
}

/** One page of executions, newest entry first (the server's order: the table never sorts a partial list). */
export function ExecutionTable({ executions, workflowNames }: ExecutionTableProps) {
  return (
    <table className="execution-table">
      <caption className="visually-hidden">Executions, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Contact</th>
          <th scope="col">Workflow</th>
          <th scope="col">Status</th>
          <th scope="col">At step</th>
          <th scope="col">Error</th>
          <th scope="col">Entered</th>
          <th scope="col">Last change</th>
        </tr>
      </thead>
      <tbody>
        {executions.map((execution) => (
          <ExecutionRow key={execution.id} execution={execution} workflowName={workflowNames.get(execution.workflow)} />
        ))}
      </tbody>
    </table>
  );
}

function ExecutionRow({ execution, workflowName }: { execution: Execution; workflowName?: string }) {
  const contact = contactOf(execution);
  const error = errorOf(execution.error);
  const status = execution.status ?? "active";
  return (
    <tr>
      <th scope="row">
        {/* The row's link names the execution by its contact: the detail page is what a row opens. */}
        <Link to={`/executions/${execution.id}`}>{contact.email || contact.id}</Link>
      </th>
      <td>
        {workflowName ?? <span className="muted">{execution.workflow}</span>}
        <span className="muted"> · v{execution.version}</span>
      </td>
      <td>
        <span className={`status execution-status-${status}`}>{STATUS_WORDS[status]}</span>
      </td>
      <td>
        <code>{execution.current_node}</code>
      </td>
      <td className="execution-error-cell">
        {error && (
          <>
            <strong>{error.type}</strong> {error.message}
          </>
        )}
      </td>
      <td>{momentText(execution.entered_at)}</td>
      <td>{momentText(execution.updated_at)}</td>
    </tr>
  );
}
