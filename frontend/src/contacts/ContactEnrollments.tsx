import { Link } from "react-router";
import { ErrorNotice } from "../components/ErrorNotice";
import { useContactEnrollments } from "./contactQueries";
import { ENROLLMENT_STATUS_WORDS, type Named } from "./timelineLogic";
import { useStepLabels } from "./useStepLabels";

/** The workflows the contact is in right now: where it stands in each, and until when it waits. */
export function ContactEnrollments({ contactId, named }: { contactId: string; named: Named }) {
  const enrollments = useContactEnrollments(contactId);
  const stepLabel = useStepLabels(enrollments.data ?? []);
  return (
    <section className="contact-section" aria-labelledby="enrollments-heading">
      <h2 id="enrollments-heading">In workflows now</h2>
      <ErrorNotice error={enrollments.error} onRetry={() => void enrollments.refetch()} />
      {enrollments.isPending && <p className="muted">Loading the enrollments…</p>}
      {enrollments.data?.length === 0 && <p className="muted">Not in any workflow right now.</p>}
      {enrollments.data && enrollments.data.length > 0 && (
        <table className="contact-table" aria-labelledby="enrollments-heading">
          <thead>
            <tr>
              <th scope="col">Workflow</th>
              <th scope="col">Version</th>
              <th scope="col">At step</th>
              <th scope="col">Status</th>
              <th scope="col">Waiting until</th>
              <th scope="col">Entered</th>
              <th scope="col">
                <span className="visually-hidden">Execution</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {enrollments.data.map((enrollment) => {
              const name = named.workflowName(enrollment.workflow);
              return (
                <tr key={enrollment.id} data-execution={enrollment.id}>
                  <td>
                    <Link to={`/workflows/${enrollment.workflow}`}>{name}</Link>
                  </td>
                  <td>v{enrollment.version}</td>
                  <td>
                    {stepLabel(enrollment.workflow, enrollment.version, enrollment.current_node)}{" "}
                    <code className="muted">{enrollment.current_node}</code>
                  </td>
                  <td>
                    <span className={`status status-${enrollment.status}`}>
                      {ENROLLMENT_STATUS_WORDS[enrollment.status ?? ""] ?? enrollment.status}
                    </span>
                  </td>
                  <td>{enrollment.next_run_at ? <Moment at={enrollment.next_run_at} /> : <span className="muted">—</span>}</td>
                  <td>
                    <Moment at={enrollment.entered_at} />
                  </td>
                  <td>
                    <Link to={`/executions/${enrollment.id}`} aria-label={`Open execution in ${name}`}>
                      Open execution
                    </Link>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Moment({ at }: { at: string }) {
  return <time dateTime={at}>{new Date(at).toLocaleString()}</time>;
}
