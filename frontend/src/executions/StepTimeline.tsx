import type { GraphNodeJson, NodeTypeInfo } from "../api/types";
import { visitNumbers } from "./executionPath";
import { errorOf, type StepRun } from "./types";
import { durationText, momentText, valueText } from "./words";

const STEP_STATUS_WORDS: Record<StepRun["status"], string> = {
  succeeded: "Succeeded",
  failed: "Failed",
  skipped: "Skipped",
  waiting: "Waited", // a wait that is over; the one the execution is in now says "Waiting"
};

interface StepTimelineProps {
  steps: StepRun[];
  /** The version's steps by id, for their names (absent while the version loads). */
  nodes: ReadonlyMap<string, GraphNodeJson>;
  /** The node types by name: their labels ("Condition"), and whether they choose between branches. */
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>;
  /** Whether the execution waits now (at its last step). */
  waiting: boolean;
}

/** The step log, in the order the steps ran: what each did, the values behind its decision, how it failed. */
export function StepTimeline({ steps, nodes, nodeTypes, waiting }: StepTimelineProps) {
  if (steps.length === 0) return <p className="empty">No step has run yet.</p>;
  const numbers = visitNumbers(steps);
  return (
    <ol className="step-timeline">
      {steps.map((step, index) => (
        <StepEntry key={step.id} number={numbers[index]!} step={step} node={nodes.get(step.node_id)}
          type={nodeTypes.get(step.type)} waitingNow={waiting && index === steps.length - 1} />
      ))}
    </ol>
  );
}

interface StepEntryProps {
  number: number;
  step: StepRun;
  node?: GraphNodeJson;
  type?: NodeTypeInfo;
  waitingNow: boolean;
}

/** Whether a type chooses a branch (a condition, a switch, a split): only then is the branch taken news. */
function choosesBranch(type: NodeTypeInfo | undefined): boolean {
  return !type || type.branches === "dynamic" || type.branches.length > 1;
}

function StepEntry({ number, step, node, type, waitingNow }: StepEntryProps) {
  const typeLabel = type?.label ?? step.type;
  const name = node?.data?.label?.trim() || typeLabel;
  const error = errorOf(step.error);
  return (
    <li className={`step-entry step-${step.status}`} aria-labelledby={`step-${step.id}`}>
      <h3 id={`step-${step.id}`}>
        <span className="step-number">{number}</span> {name}{" "}
        <span className="muted">
          {typeLabel} · <code>{step.node_id}</code>
        </span>
        <span className={`status step-status-${step.status}`}>
          {step.status === "waiting" && waitingNow ? "Waiting" : STEP_STATUS_WORDS[step.status]}
        </span>
      </h3>
      <p className="step-facts">
        <span>Started {momentText(step.started_at)}</span>
        {step.status !== "waiting" && <span>Took {durationText(step.duration_ms)}</span>}
        <span>Attempt {step.attempt ?? 1}</span>
        {(step.visit ?? 1) > 1 && <span>Visit {step.visit}</span>}
        {step.branch && choosesBranch(type) && (
          <span>
            Took the branch <strong>{step.branch}</strong>
          </span>
        )}
      </p>
      <StepDetail detail={step.detail} errorMessage={error?.message} />
      {error && (
        <div className="step-error">
          <p>
            <strong>{error.type || "Error"}</strong>: {error.message}
          </p>
          {error.traceback && (
            <details>
              <summary>Traceback</summary>
              <pre className="traceback">{error.traceback}</pre>
            </details>
          )}
        </div>
      )}
    </li>
  );
}

/**
 * The values a decision looked at (`seen`: var path -> value), then the rest of what the step recorded, less what
 * the entry says already (the outcome is its status; a failure's reason is the error's message).
 */
function StepDetail({ detail, errorMessage }: { detail: StepRun["detail"]; errorMessage?: string }) {
  if (typeof detail !== "object" || detail === null || Array.isArray(detail)) return null;
  const { seen, outcome: _outcome, error: _error, ...rest } = detail as Record<string, unknown>;
  const others = Object.entries(rest).filter(([key, value]) => !(key === "reason" && value === errorMessage));
  return (
    <>
      {typeof seen === "object" && seen !== null && Object.keys(seen).length > 0 && (
        <table className="step-values">
          <caption>Values behind the decision</caption>
          <tbody>
            {Object.entries(seen).map(([path, value]) => (
              <tr key={path}>
                <th scope="row">
                  <code>{path}</code>
                </th>
                <td>
                  <code>{valueText(value)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {others.length > 0 && (
        <dl className="step-output">
          {others.map(([key, value]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>
                <code>{valueText(value)}</code>
              </dd>
            </div>
          ))}
        </dl>
      )}
    </>
  );
}
