import { useState } from "react";
import { Link } from "react-router";
import { queryKeys, useWorkflows, WORKFLOW_LIST_REFRESH_MS } from "../api/queries";
import type { Workflow, WorkflowListItem, WorkflowStatus } from "../api/types";
import { useCanEdit } from "../access/access";
import { ErrorNotice } from "../components/ErrorNotice";
import { LiveIndicator } from "../live/LiveIndicator";
import { pollMs } from "../live/liveLogic";
import { useLiveUpdates } from "../live/useLiveUpdates";
import { CreateWorkflowDialog } from "./CreateWorkflowDialog";
import { DeleteWorkflowDialog } from "./DeleteWorkflowDialog";
import { RenameWorkflowDialog } from "./RenameWorkflowDialog";
import { countColumns, SORT_LABELS, STATUS_LABELS, visibleWorkflows, type ListQuery, type SortKey } from "./listLogic";
import { useWorkflowActions } from "./useWorkflowActions";

type Dialogs = { kind: "create" } | { kind: "rename" | "delete"; workflow: Workflow } | null;

// The workspace's socket says which workflows moved; the list refetches its counts then (and on each reconnect).
const LIVE_KEYS = [queryKeys.workflows];

export function WorkflowsList() {
  const live = useLiveUpdates("/ws/workspace/", LIVE_KEYS);
  const workflows = useWorkflows({ refreshMs: pollMs(live, WORKFLOW_LIST_REFRESH_MS) });
  const [query, setQuery] = useState<ListQuery>({ search: "", status: "all", sort: "updated" });
  const [dialog, setDialog] = useState<Dialogs>(null);
  const actions = useWorkflowActions();
  // A viewer reads the list (and opens each workflow to read it): no create, rename, duplicate, archive or delete.
  const canEdit = useCanEdit();
  const shown = visibleWorkflows(workflows.data ?? [], query);
  return (
    <main className="list-page">
      <header className="page-header">
        <div className="page-title">
          <h1>Workflows</h1>
          <LiveIndicator status={live} />
        </div>
        {canEdit && (
          <button type="button" className="primary" onClick={() => setDialog({ kind: "create" })}>
            New workflow
          </button>
        )}
      </header>
      <div className="list-filters" role="search">
        <div>
          <label htmlFor="workflow-search">Search</label>
          <input
            id="workflow-search"
            type="search"
            value={query.search}
            placeholder="Name or description"
            onChange={(event) => setQuery({ ...query, search: event.target.value })}
          />
        </div>
        <div>
          <label htmlFor="workflow-status">Status</label>
          <select
            id="workflow-status"
            value={query.status}
            onChange={(event) => setQuery({ ...query, status: event.target.value as WorkflowStatus | "all" })}
          >
            <option value="all">All</option>
            {Object.entries(STATUS_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="workflow-sort">Sort by</label>
          <select id="workflow-sort" value={query.sort} onChange={(event) => setQuery({ ...query, sort: event.target.value as SortKey })}>
            {Object.entries(SORT_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorNotice error={workflows.error} onRetry={() => void workflows.refetch()} />
      {[actions.duplicate, actions.archive].map((mutation, index) => (
        <ErrorNotice key={index} error={mutation.error} />
      ))}
      {workflows.isPending && <p>Loading workflows…</p>}
      {workflows.data && shown.length === 0 && (
        <p className="empty">
          {workflows.data.length === 0
            ? canEdit ? "No workflows yet. Create one to start." : "No workflows yet: an editor of the workspace creates them."
            : "No workflow matches this search or filter."}
        </p>
      )}
      {shown.length > 0 && (
        <table className="workflow-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">In it now</th>
              <th scope="col">Finished</th>
              <th scope="col">Last edited</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((workflow) => (
              <WorkflowRow
                key={workflow.id}
                workflow={workflow}
                canEdit={canEdit}
                onRename={() => setDialog({ kind: "rename", workflow })}
                onDelete={() => setDialog({ kind: "delete", workflow })}
                onDuplicate={() => actions.duplicate.mutate(workflow.id)}
                onArchive={() => actions.archive.mutate(workflow.id)}
              />
            ))}
          </tbody>
        </table>
      )}
      {canEdit && (
        <>
          <CreateWorkflowDialog open={dialog?.kind === "create"} onClose={() => setDialog(null)} />
          {dialog?.kind === "rename" && <RenameWorkflowDialog workflow={dialog.workflow} onClose={() => setDialog(null)} />}
          {dialog?.kind === "delete" && <DeleteWorkflowDialog workflow={dialog.workflow} onClose={() => setDialog(null)} />}
        </>
      )}
    </main>
  );
}

interface RowProps {
  workflow: WorkflowListItem;
  canEdit: boolean;
  onRename: () => void;
  onDelete: () => void;
  onDuplicate: () => void;
  onArchive: () => void;
}

function WorkflowRow({ workflow, canEdit, onRename, onDelete, onDuplicate, onArchive }: RowProps) {
  // The counts come with the list answer (one request for the page) and refresh with it while the page is in view.
  const { inNow, finished } = countColumns(workflow.counts);
  return (
    <tr data-workflow={workflow.name}>
      <td>
        <Link to={`/workflows/${workflow.id}`}>{workflow.name}</Link>
        {workflow.description && <div className="muted">{workflow.description}</div>}
      </td>
      <td>
        <span className={`status status-${workflow.status}`}>{STATUS_LABELS[workflow.status]}</span>
        {workflow.published_version !== null && <span className="muted"> v{workflow.published_version}</span>}
      </td>
      <td title="Active or waiting" data-count="in-now">
        {inNow}
      </td>
      <td title="Completed, exited, failed or cancelled" data-count="finished">
        {finished}
      </td>
      <td>{new Date(workflow.updated_at).toLocaleString()}</td>
      <td className="row-actions">
        {/* Named "Analytics" alone: a name with the workflow's would also answer to the workflow's own link's. */}
        <Link to={`/workflows/${workflow.id}/analytics`}>
          Analytics
        </Link>
        {canEdit && (
          <>
            <button type="button" onClick={onRename} aria-label={`Rename ${workflow.name}`}>
              Rename
            </button>
            <button type="button" onClick={onDuplicate} aria-label={`Duplicate ${workflow.name}`}>
              Duplicate
            </button>
            {workflow.status !== "archived" && (
              <button type="button" onClick={onArchive} aria-label={`Archive ${workflow.name}`}>
                Archive
              </button>
            )}
            <button type="button" className="danger" onClick={onDelete} aria-label={`Delete ${workflow.name}`}>
              Delete
            </button>
          </>
        )}
      </td>
    </tr>
  );
}
