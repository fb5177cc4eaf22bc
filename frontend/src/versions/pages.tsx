// The versions screens, each deep-linkable: the history (/workflows/:id/versions), one version read-only
// (/workflows/:id/versions/:n) and a comparison of any two sides (/workflows/:id/compare?from=1&to=draft).
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { ReactFlowProvider } from "@xyflow/react";
import { useNodeTypes } from "../api/queries";
import type { NodeTypeInfo, Workflow } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { DiffView } from "./DiffView";
import type { Snapshot } from "./graphDiff";
import { VersionCanvas } from "./VersionCanvas";
import {
  parseSide,
  sideName,
  useVersion,
  useVersions,
  useWorkflow,
  type Side,
  type VersionSummary,
} from "./versionQueries";
import { CountsToggle, VersionCounters } from "../analytics/CanvasCounters";
import "./versions.css";

function formatDate(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—";
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The workflow and the node types every versions screen needs, or what to show while they load or fail. */
function usePageBasics(workflowId: string) {
  const workflow = useWorkflow(workflowId);
  const nodeTypes = useNodeTypes();
  const failed = [workflow, nodeTypes].find((query) => query.error);
  const fallback: ReactNode = failed ? (
    <main className="versions-page">
      <ErrorNotice error={failed.error} onRetry={() => void failed.refetch()} />
      <Link to="/">Back to the workflows</Link>
    </main>
  ) : !workflow.data || !nodeTypes.data ? (
    <p className="loading">Loading…</p>
  ) : null;
  return { workflow: workflow.data, nodeTypes: nodeTypes.data, fallback };
}

function useTitle(text: string) {
  useEffect(() => {
    document.title = `${text} · PenguinFlow builder`;
  }, [text]);
}

function PageHeader({ workflow, children }: { workflow: Workflow; children?: ReactNode }) {
  return (
    <header className="canvas-header versions-header">
      <Link to={`/workflows/${workflow.id}`}>← Back to the draft</Link>
      <Link to={`/workflows/${workflow.id}/versions`}>Version history</Link>
      <h1>{workflow.name}</h1>
      {children}
    </header>
  );
}

export function HistoryPage() {
  const { workflowId = "" } = useParams();
  const basics = usePageBasics(workflowId);
  const versions = useVersions(workflowId);
  useTitle(`Version history of ${basics.workflow?.name ?? "a workflow"}`);
  if (basics.fallback || !basics.workflow) return basics.fallback;
  const workflow = basics.workflow;
  return (
    <main className="versions-page">
      <PageHeader workflow={workflow} />
      <div className="versions-content">
        <h2>Version history</h2>
        {versions.error ? (
          <ErrorNotice error={versions.error} onRetry={() => void versions.refetch()} />
        ) : !versions.data ? (
          <p className="loading">Loading the versions…</p>
        ) : versions.data.length === 0 ? (
          <p className="empty">Not published yet: the draft becomes version 1 when you publish it.</p>
        ) : (
          <>
            <VersionTable workflowId={workflow.id} versions={versions.data} />
            <CompareForm workflowId={workflow.id} versions={versions.data} initial={{ from: versions.data[0]!.number, to: "draft" }} />
          </>
        )}
      </div>
    </main>
  );
}

function VersionTable({ workflowId, versions }: { workflowId: string; versions: VersionSummary[] }) {
  return (
    <table className="versions-table">
      <caption className="visually-hidden">Published versions, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Published</th>
          <th scope="col">By</th>
          <th scope="col">Contacts still on it</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {versions.map((version, index) => (
          <tr key={version.number}>
            <th scope="row">
              Version {version.number}
              {index === 0 && <span className="status status-active">Latest</span>}
            </th>
            <td>{formatDate(version.published_at)}</td>
            <td>{version.published_by || <span className="muted">not known</span>}</td>
            <td>{version.in_flight}</td>
            <td className="row-actions">
              <Link to={`/workflows/${workflowId}/versions/${version.number}`} aria-label={`Open version ${version.number}, read-only`}>
                Open
              </Link>
              <Link
                to={`/workflows/${workflowId}/compare?from=${version.number}&to=draft`}
                aria-label={`Compare with the draft, version ${version.number}`}
              >
                Compare with the draft
              </Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface CompareFormProps {
  workflowId: string;
  versions: VersionSummary[];
  initial: { from: Side; to: Side };
}

/** Pick any two sides (a version or the draft) and open their comparison. */
function CompareForm({ workflowId, versions, initial }: CompareFormProps) {
  const navigate = useNavigate();
  const [from, setFrom] = useState(String(initial.from));
  const [to, setTo] = useState(String(initial.to));
  const options = [
    <option key="draft" value="draft">
      The draft
    </option>,
    ...versions.map((version) => (
      <option key={version.number} value={version.number}>
        Version {version.number}
      </option>
    )),
  ];
  return (
    <form
      className="compare-form"
      aria-label="Compare two versions"
      onSubmit={(event) => {
        event.preventDefault();
        void navigate(`/workflows/${workflowId}/compare?from=${from}&to=${to}`);
      }}
    >
      <label>
        Compare
        <select value={from} onChange={(event) => setFrom(event.target.value)}>
          {options}
        </select>
      </label>
      <label>
        with
        <select value={to} onChange={(event) => setTo(event.target.value)}>
          {options}
        </select>
      </label>
      <button type="submit" className="primary" disabled={from === to}>
        Compare
      </button>
    </form>
  );
}

export function VersionPage() {
  const { workflowId = "", number = "" } = useParams();
  const side = parseSide(number);
  const versionNumber = typeof side === "number" ? side : null;
  const basics = usePageBasics(workflowId);
  const version = useVersion(workflowId, versionNumber);
  useTitle(`Version ${number} of ${basics.workflow?.name ?? "a workflow"}, read-only`);
  if (basics.fallback || !basics.workflow || !basics.nodeTypes) return basics.fallback;
  const workflow = basics.workflow;
  return (
    <main className="canvas-page versions-page">
      <PageHeader workflow={workflow}>
        <span className="read-only-badge">Version {number}, read-only</span>
        {version.data && <span className="save-status">Published {formatDate(version.data.published_at)}</span>}
        <Link className="button-link" to={`/workflows/${workflow.id}/compare?from=${number}&to=draft`}>
          Compare with the draft
        </Link>
        <CountsToggle />
        <Link to={`/workflows/${workflow.id}/analytics?version=${number}`}>Analytics</Link>
      </PageHeader>
      {versionNumber === null ? (
        <p className="empty">There is no version “{number}”: versions are numbered from 1.</p>
      ) : version.error ? (
        <ErrorNotice error={version.error} onRetry={() => void version.refetch()} />
      ) : !version.data ? (
        <p className="loading">Loading version {number}…</p>
      ) : (
        <div className="canvas-body">
          <ReactFlowProvider>
            <VersionCanvas graph={version.data.graph} nodeTypes={basics.nodeTypes} label={`Version ${number}, read-only`}>
              <VersionCounters
                workflowId={workflow.id}
                version={version.data.number}
                steps={(version.data.graph.nodes ?? []).map((node) => ({ id: node.id, name: node.data?.label || node.id }))}
              />
            </VersionCanvas>
          </ReactFlowProvider>
        </div>
      )}
    </main>
  );
}

/** A side's graph and settings: the draft's from the workflow, a version's from its own answer. */
function useSide(workflow: Workflow | undefined, workflowId: string, side: Side | null) {
  const version = useVersion(workflowId, typeof side === "number" ? side : null);
  const snapshot = useMemo<Snapshot | undefined>(() => {
    if (side === "draft") return workflow?.draft ? { graph: workflow.draft.graph, settings: workflow.draft.settings } : undefined;
    return version.data ? { graph: version.data.graph, settings: version.data.settings } : undefined;
  }, [side, workflow, version.data]);
  return { snapshot, error: side === "draft" ? null : version.error, refetch: version.refetch };
}

export function ComparePage() {
  const { workflowId = "" } = useParams();
  const [params] = useSearchParams();
  const from = parseSide(params.get("from"));
  const to = parseSide(params.get("to"));
  const basics = usePageBasics(workflowId);
  const versions = useVersions(workflowId);
  const before = useSide(basics.workflow, workflowId, from);
  const after = useSide(basics.workflow, workflowId, to);
  useTitle(`Compare versions of ${basics.workflow?.name ?? "a workflow"}`);
  if (basics.fallback || !basics.workflow || !basics.nodeTypes) return basics.fallback;
  const failed = before.error ?? after.error;
  return (
    <main className="canvas-page versions-page">
      <PageHeader workflow={basics.workflow}>
        <span className="read-only-badge">Comparison, read-only</span>
      </PageHeader>
      {versions.data && from !== null && to !== null && (
        <CompareForm key={`${from}-${to}`} workflowId={workflowId} versions={versions.data} initial={{ from, to }} />
      )}
      {from === null || to === null ? (
        <p className="empty">Choose two sides to compare: `from` and `to` are a version number or “draft”.</p>
      ) : failed ? (
        <ErrorNotice error={failed} onRetry={() => void (before.error ? before.refetch() : after.refetch())} />
      ) : !before.snapshot || !after.snapshot ? (
        <p className="loading">Loading both sides…</p>
      ) : (
        <DiffView
          key={`${from}-${to}`}
          before={before.snapshot}
          after={after.snapshot}
          beforeName={capitalised(sideName(from))}
          afterName={sideName(to)}
          nodeTypes={basics.nodeTypes as NodeTypeInfo[]}
        />
      )}
    </main>
  );
}
