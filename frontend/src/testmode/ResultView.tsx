import type { NodeTypeInfo, SimulationAction, SimulationResult } from "../api/types";
import type { FlowNode } from "../canvas/graph";
import { describeVisit, statusText } from "./describe";
import { momentText, type PathHighlight } from "./highlight";

interface ResultViewProps {
  result: SimulationResult;
  highlight: PathHighlight;
  nodes: readonly FlowNode[];
  nodeTypes: ReadonlyMap<string, NodeTypeInfo>;
  onFocusNode: (nodeId: string) => void;
}

const STATUS_CLASS: Record<string, string> = {
  completed: "notice-ok",
  exited: "notice-warning",
  waiting: "notice-warning",
  failed: "notice-error",
};

/** The run: its status, each step in time order with what it decided or awaited, and what would have happened. */
export function ResultView({ result, highlight, nodes, nodeTypes, onFocusNode }: ResultViewProps) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const nameOf = (nodeId: string) => {
    const node = byId.get(nodeId);
    const typeLabel = nodeTypes.get(node?.type ?? "")?.label ?? node?.type ?? "a step no longer on the canvas";
    return { label: node?.data.label || typeLabel, typeLabel };
  };
  const actionsByNode = new Map<string, SimulationAction[]>();
  for (const action of result.actions) {
    actionsByNode.set(action.node_id, [...(actionsByNode.get(action.node_id) ?? []), action]);
  }

  return (
    <section className="test-result" aria-labelledby="test-result-heading">
      <h3 id="test-result-heading" tabIndex={-1}>
        Result
      </h3>
      <p className={`notice ${STATUS_CLASS[result.status] ?? "notice-warning"} test-status`} role="status">
        {statusText(result.status, result.reason)}
      </p>
      <p className="muted">Times are in your time zone ({Intl.DateTimeFormat().resolvedOptions().timeZone}).</p>
      {highlight.visits.length === 0 ? (
        <p className="muted">The contact took no step.</p>
      ) : (
        <ol className="test-timeline" aria-label="Steps of the run">
          {highlight.visits.map((visit) => {
            const { label, typeLabel } = nameOf(visit.nodeId);
            const lines = describeVisit(visit, byId.get(visit.nodeId)?.data.config);
            // The actions of this node that happened during this visit (a node visited twice acts twice).
            const end = visit.steps[visit.steps.length - 1]!.at;
            const actions = (actionsByNode.get(visit.nodeId) ?? []).filter(
              (action) => action.at >= visit.at && action.at <= end,
            );
            return (
              <li key={visit.number} className="test-timeline-step">
                <button type="button" className="link-button" onClick={() => onFocusNode(visit.nodeId)}>
                  <span className="test-step-number">{visit.number}</span> {label}
                </button>
                <span className="muted"> · {typeLabel} · </span>
                <time dateTime={visit.at}>{momentText(visit.at)}</time>
                {lines.map((line, index) => (
                  <p key={index} className="test-step-line">
                    {line}
                  </p>
                ))}
                {actions.map((action, index) => (
                  <ActionView key={index} action={action} />
                ))}
              </li>
            );
          })}
        </ol>
      )}
      {result.actions.length > 0 && (
        <>
          <h4>What would happen</h4>
          <ul className="test-actions" aria-label="Actions the run would take">
            {result.actions.map((action, index) => (
              <li key={index}>
                <time dateTime={action.at}>{momentText(action.at)}</time> · {nameOf(action.node_id).label}:{" "}
                {action.summary}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

// Remote content stays out of the preview: no tracking pixel fires, no image or font is fetched from elsewhere.
const PREVIEW_POLICY =
  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">";

function ActionView({ action }: { action: SimulationAction }) {
  if (action.email_error) {
    return <p className="notice notice-error test-step-line">{action.email_error}</p>;
  }
  if (!action.email) return <p className="test-step-line test-action">{action.summary}</p>;
  const email = action.email;
  return (
    <details className="test-email" open>
      <summary>
        Email: <strong>{email.subject || "(no subject)"}</strong>
      </summary>
      <dl>
        <dt>From</dt>
        <dd>{email.from}</dd>
        <dt>To</dt>
        <dd>{email.to}</dd>
      </dl>
      <iframe
        className="test-email-frame"
        title={`The email “${email.subject}” as it would be sent`}
        sandbox=""
        srcDoc={`${PREVIEW_POLICY}${email.html}`}
      />
      <p className="muted">Remote images are not loaded in this preview.</p>
    </details>
  );
}
