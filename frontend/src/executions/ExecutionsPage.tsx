// /builder/executions: every execution of the workspace, filtered (the filters live in the query string, so the
// canvas can link here with ?workflow=…&node=…), a page at a time from the server's cursor. Nothing is counted or
// fetched beyond the page: the list is designed for a million rows.
import { useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { useWorkflows } from "../api/queries";
import { ErrorNotice } from "../components/ErrorNotice";
import { LiveIndicator } from "../live/LiveIndicator";
import { useLiveUpdates } from "../live/useLiveUpdates";
import { useCanEdit } from "../access/access";
import { BulkDialog } from "./BulkDialog";
import { exportHref, useExecutions, type BulkKind } from "./executionQueries";
import { ExecutionTable } from "./ExecutionTable";
import { FilterForm } from "./FilterForm";
import { filterProblems, problemsText } from "./filterProblems";
import { cursorOf, hasFilters, listParamsFromSearch, searchOf, type ExecutionFilters } from "./filters";
import "./executions.css";

const LIVE_KEYS = [["executions"]] as const;

export function ExecutionsPage() {
  const [search, setSearch] = useSearchParams();
  const params = useMemo(() => listParamsFromSearch(search), [search]);
  const executions = useExecutions(params);
  // Live: the page of rows is read again when executions move (one workflow's socket when the table shows one).
  const workflowId = params.filters.workflow;
  const live = useLiveUpdates(workflowId ? `/ws/workflows/${workflowId}/` : "/ws/workspace/", LIVE_KEYS);
  const workflows = useWorkflows();
  const workflowNames = useMemo(() => new Map(workflows.data?.map((w) => [w.id, w.name])), [workflows.data]);
  const [bulk, setBulk] = useState<BulkKind | null>(null);
  const canEdit = useCanEdit();
  useEffect(() => {
    document.title = "Executions · PenguinFlow builder";
  }, []);
  const apply = (filters: ExecutionFilters) => setSearch(searchOf({ filters }));
  const goTo = (cursor: string | undefined) => setSearch(searchOf({ filters: params.filters, cursor }));
  const problems = filterProblems(executions.error);
  // A refused filter keeps the last rows on screen (placeholder data): they are not what the filters say, so hide.
  const page = executions.isError ? undefined : executions.data;
  return (
    <main className="list-page executions-page">
      <header className="page-header">
        <div className="page-title">
          <h1>Executions</h1>
          <LiveIndicator status={live} />
        </div>
        <div className="row-actions">
          {canEdit && (
            <>
              <button type="button" onClick={() => setBulk("retry")}>
                Retry failed…
              </button>
              <button type="button" className="danger" onClick={() => setBulk("cancel")}>
                Cancel…
              </button>
            </>
          )}
          {/* No export of filters the server refused: it would download the refusal instead of a CSV. */}
          {Object.keys(problems).length === 0 && (
            <a className="button-link" href={exportHref(params.filters)} download>
              Export CSV
            </a>
          )}
        </div>
      </header>
      <FilterForm filters={params.filters} onApply={apply} problems={problems} />
      {canEdit && <p className="muted execution-scope">
        {hasFilters(params.filters)
          ? "The buttons above act on every execution these filters match, on all pages."
          : "No filter: the buttons above act on every execution of the workspace."}
      </p>}
      {Object.keys(problems).length > 0 ? (
        <p className="notice notice-error" role="alert">
          These filters cannot be used. {problemsText(problems)} Change them, then apply again.
        </p>
      ) : (
        <ErrorNotice error={executions.error} onRetry={() => void executions.refetch()} />
      )}
      {executions.isPending && <p className="loading">Loading the executions…</p>}
      {page && page.results.length === 0 && (
        <p className="empty">
          {hasFilters(params.filters) ? "No execution matches these filters." : "Nothing has run yet: no contact has entered a workflow."}
        </p>
      )}
      {page && page.results.length > 0 && (
        <div aria-busy={executions.isPlaceholderData}>
          <ExecutionTable executions={page.results} workflowNames={workflowNames} />
        </div>
      )}
      {page && (page.next || page.previous) && (
        <nav className="pager" aria-label="Pages of executions">
          <button type="button" disabled={!page.previous} onClick={() => goTo(cursorOf(page.previous))}>
            ← Newer
          </button>
          <button type="button" disabled={!page.next} onClick={() => goTo(cursorOf(page.next))}>
            Older →
          </button>
        </nav>
      )}
      {bulk && canEdit && <BulkDialog kind={bulk} filters={params.filters} onClose={() => setBulk(null)} />}
    </main>
  );
}
