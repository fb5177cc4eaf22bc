import { useState } from "react";
import { Link } from "react-router";
import type { WorkflowListItem } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { Moment } from "./ContactEnrollments";
import { useContactTimeline, type TimelineFilters, type TimelineItem } from "./contactQueries";
import { itemSummary, itemTitle, STEP_STATUS_WORDS, type Named } from "./timelineLogic";
import { useStepLabels } from "./useStepLabels";

interface Props {
  contactId: string;
  named: Named;
  workflows: readonly WorkflowListItem[];
}

/** Everything that happened to the contact, newest first: its events and every step of its workflows. */
export function ContactTimeline({ contactId, named, workflows }: Props) {
  const [filters, setFilters] = useState<TimelineFilters>({ kind: "", workflow: "" });
  const timeline = useContactTimeline(contactId, filters);
  const items = timeline.data?.pages.flatMap((page) => page.results) ?? [];
  const stepLabel = useStepLabels(
    items.flatMap((item) => (item.workflow && item.version ? [{ workflow: item.workflow, version: item.version }] : [])),
  );
  return (
    <section className="contact-section" aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Timeline</h2>
      <div className="list-filters" role="group" aria-label="Timeline filters">
        <div>
          <label htmlFor="timeline-kind">Show</label>
          <select
            id="timeline-kind"
            value={filters.kind}
            onChange={(event) => setFilters({ ...filters, kind: event.target.value as TimelineFilters["kind"] })}
          >
            <option value="">Events and workflow steps</option>
            <option value="event">Events only</option>
            <option value="step">Workflow steps only</option>
          </select>
        </div>
        <div>
          <label htmlFor="timeline-workflow">Workflow</label>
          <select
            id="timeline-workflow"
            value={filters.workflow}
            onChange={(event) => setFilters({ ...filters, workflow: event.target.value })}
          >
            <option value="">Any workflow</option>
            {workflows.map((workflow) => (
              <option key={workflow.id} value={workflow.id}>
                {workflow.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      {filters.workflow && filters.kind !== "step" && (
        <p className="muted">Events belong to no workflow: with a workflow chosen, only its steps are shown.</p>
      )}
      <ErrorNotice error={timeline.error} onRetry={() => void timeline.refetch()} />
      {timeline.isPending && <p className="muted">Loading the timeline…</p>}
      {timeline.data && items.length === 0 && (
        <p className="muted">
          {filters.kind || filters.workflow ? "Nothing matches these filters." : "Nothing has happened to this contact yet."}
        </p>
      )}
      {items.length > 0 && (
        <ol className="timeline" aria-label="Timeline, newest first">
          {items.map((item) => (
            <TimelineEntry
              key={`${item.kind}-${item.id}`}
              item={item}
              named={named}
              label={item.workflow && item.version && item.node_id ? stepLabel(item.workflow, item.version, item.node_id) : undefined}
            />
          ))}
        </ol>
      )}
      <ErrorNotice error={timeline.isFetchNextPageError ? timeline.error : null} />
      {timeline.hasNextPage ? (
        <button type="button" onClick={() => void timeline.fetchNextPage()} disabled={timeline.isFetchingNextPage}>
          {timeline.isFetchingNextPage ? "Loading more…" : "Load more"}
        </button>
      ) : (
        items.length > 0 && <p className="muted">That is the whole timeline: {items.length} items.</p>
      )}
    </section>
  );
}

/** One event or step; a step is named by its label in the version it ran on, when it has one. */
function TimelineEntry({ item, named, label }: { item: TimelineItem; named: Named; label: string | undefined }) {
  const title = label ?? itemTitle(item, named);
  const summary = itemSummary(item, named);
  const status = item.status ?? "";
  return (
    <li className={`timeline-item timeline-${item.kind} timeline-status-${status}`} data-kind={item.kind}>
      <Moment at={item.at} />
      <div className="timeline-body">
        <div className="timeline-head">
          <span className="timeline-kind">{item.kind === "event" ? "Event" : "Step"}</span>
          <strong>{title}</strong>
          {label && <span className="muted">{itemTitle(item, named)}</span>}
          {item.kind === "step" && <span className={`status step-${status}`}>{STEP_STATUS_WORDS[status] ?? status}</span>}
        </div>
        {item.kind === "step" && item.workflow && (
          <div className="muted">
            In <Link to={`/workflows/${item.workflow}`}>{named.workflowName(item.workflow)}</Link>, step{" "}
            <code>{item.node_id}</code>
            {item.execution && (
              <>
                {" · "}
                <Link to={`/executions/${item.execution}`}>Open execution</Link>
              </>
            )}
          </div>
        )}
        {item.kind === "event" && enrollmentOf(item) && (
          <div className="muted">
            <Link to={`/executions/${enrollmentOf(item)}`}>Open execution</Link>
          </div>
        )}
        {summary && <p className="timeline-summary">{summary}</p>}
        <details>
          <summary>All details</summary>
          <pre>{JSON.stringify(item.detail, null, 2)}</pre>
        </details>
      </div>
    </li>
  );
}

/** The execution a runtime event (workflow.enrolled, .completed, .failed...) is about, when it names one. */
function enrollmentOf(item: TimelineItem): string | null {
  const properties = item.detail.properties;
  if (!properties || typeof properties !== "object") return null;
  const id = (properties as Record<string, unknown>).enrollment_id;
  return typeof id === "string" && id ? id : null;
}
