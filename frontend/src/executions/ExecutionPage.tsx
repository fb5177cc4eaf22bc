// /builder/executions/:id: one execution, its step log as a timeline, Retry and Cancel, and its path painted on
// a read-only canvas of the version it ran with.
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { ReactFlowProvider } from "@xyflow/react";
import { useNodeTypes } from "../api/queries";
import { ErrorNotice } from "../components/ErrorNotice";
import { LiveIndicator } from "../live/LiveIndicator";
import { useLiveUpdates } from "../live/useLiveUpdates";
import { useVersion, useWorkflow } from "../versions/versionQueries";
import { useCanEdit } from "../access/access";
import { ExecutionActions } from "./ExecutionActions";
import { useExecution } from "./executionQueries";
import { PathCanvas } from "./PathCanvas";
import { StepTimeline } from "./StepTimeline";
import { contactOf, errorOf, type ExecutionDetail } from "./types";
import { durationText, momentText, STATUS_WORDS } from "./words";
import "./executions.css";

export function ExecutionPage() {
  const { executionId = "" } = useParams();
  const execution = useExecution(executionId);
  // Live: the execution is read again whenever it moves; its socket refuses an id of another workspace.
  const live = useLiveUpdates(executionId ? `/ws/executions/${executionId}/` : null, [["execution", executionId]]);
  const email = execution.data ? contactOf(execution.data).email : "";
  useEffect(() => {
    document.title = `Execution${email ? ` of ${email}` : ""} · PenguinFlow builder`;
  }, [email]);
  return (
    <main className="list-page execution-page">
      <Link to="/executions">← All executions</Link>
      <ErrorNotice error={execution.error} onRetry={() => void execution.refetch()} />
      {execution.isPending && <p className="loading">Loading the execution…</p>}
      {execution.data && <ExecutionView execution={execution.data} live={<LiveIndicator status={live} />} />}
    </main>
  );
}

function ExecutionView({ execution, live }: { execution: ExecutionDetail; live: ReactNode }) {
  const workflow = useWorkflow(execution.workflow);
  const canEdit = useCanEdit();
  const version = useVersion(execution.workflow, execution.version);
  const nodeTypes = useNodeTypes();
  const [showCanvas, setShowCanvas] = useState(false);
  const nodes = useMemo(() => new Map((version.data?.graph.nodes ?? []).map((node) => [node.id, node])), [version.data]);
  const typesByName = useMemo(() => new Map(nodeTypes.data?.map((info) => [info.type, info])), [nodeTypes.data]);
  const contact = contactOf(execution);
  return (
    <>
      <header className="page-header">
        <div className="page-title">
          <h1>Execution of {contact.email || contact.id}</h1>
          {live}
        </div>
        {canEdit && <ExecutionActions execution={execution} />}
      </header>
      <ExecutionFacts execution={execution} workflowName={workflow.data?.name} />
      <section aria-labelledby="timeline-heading">
        <div className="section-header">
          <h2 id="timeline-heading">Steps, in the order they ran</h2>
          <button type="button" aria-expanded={showCanvas} aria-controls="execution-canvas" onClick={() => setShowCanvas(!showCanvas)}>
            {showCanvas ? "Hide the canvas" : "Show on canvas"}
          </button>
        </div>
        {showCanvas && (
          <div id="execution-canvas" className="execution-canvas">
            <ErrorNotice error={version.error ?? nodeTypes.error} />
            {version.data && nodeTypes.data ? (
              <ReactFlowProvider>
                <PathCanvas graph={version.data.graph} nodeTypes={nodeTypes.data} steps={execution.steps}
                  label={`Version ${execution.version} with this execution's path, read-only`} />
              </ReactFlowProvider>
            ) : (
              <p className="loading">Loading version {execution.version}…</p>
            )}
          </div>
        )}
        <StepTimeline steps={execution.steps} nodes={nodes} nodeTypes={typesByName} waiting={execution.status === "waiting"} />
      </section>
    </>
  );
}

function ExecutionFacts({ execution, workflowName }: { execution: ExecutionDetail; workflowName?: string }) {
  const contact = contactOf(execution);
  const error = errorOf(execution.error);
  const status = execution.status ?? "active";
  return (
    <dl className="execution-facts">
      <Fact term="Status">
        <span className={`status execution-status-${status}`}>{STATUS_WORDS[status]}</span>
      </Fact>
      <Fact term="Workflow">
        <Link to={`/workflows/${execution.workflow}`}>{workflowName ?? "Open the workflow"}</Link>
      </Fact>
      <Fact term="Version">
        <Link to={`/workflows/${execution.workflow}/versions/${execution.version}`}>Version {execution.version}</Link>
      </Fact>
      <Fact term="Contact">
        <Link to={`/contacts/${contact.id}`}>{contact.email || contact.id}</Link>
      </Fact>
      <Fact term="At step">
        <code>{execution.current_node}</code>
      </Fact>
      <Fact term="Entered">{momentText(execution.entered_at)}</Fact>
      <Fact term={execution.finished_at ? "Finished" : "Last change"}>
        {momentText(execution.finished_at ?? execution.updated_at)}
      </Fact>
      <Fact term="Duration">{durationText(execution.duration_ms)}</Fact>
      {execution.next_run_at && <Fact term="Next run">{momentText(execution.next_run_at)}</Fact>}
      {execution.goal && <Fact term="Goal reached">{execution.goal}</Fact>}
      {error && (
        <Fact term="Error">
          <strong>{error.type}</strong>: {error.message}
        </Fact>
      )}
    </dl>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}
