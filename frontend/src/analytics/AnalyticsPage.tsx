// The per-workflow analytics screen (/workflows/:workflowId/analytics, a lazy chunk with the chart library): the
// funnel of its steps, goal conversions by day, each split test, and the messages of its send steps by channel. The version and the range are in the address,
// so a view can be shared.
import { useEffect, useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { useNodeTypes } from "../api/queries";
import type { GraphJson, NodeTypeInfo, WorkflowAnalytics } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { LiveIndicator } from "../live/LiveIndicator";
import { useLiveUpdates } from "../live/useLiveUpdates";
import { useVersion, useVersions, useWorkflow } from "../versions/versionQueries";
import { useAnalytics, type AnalyticsParams } from "./analyticsQueries";
import { ChannelsSection } from "./ChannelsSection";
import { FunnelSection } from "./FunnelSection";
import { RangeControls } from "./RangeControls";
import { DEFAULT_DAYS, rangeProblem, shiftDay, todayUtc } from "./series";
import { SeriesSection } from "./SeriesSection";
import { SplitTestsSection } from "./SplitTestsSection";
import { percent, plural } from "./splitTests";
import "./analytics.css";

export default function AnalyticsPage() {
  const { workflowId = "" } = useParams();
  const workflow = useWorkflow(workflowId);
  const versions = useVersions(workflowId);
  const nodeTypes = useNodeTypes();
  const [search, setSearch] = useSearchParams();
  const latest = versions.data?.[0]?.number ?? null;
  const today = todayUtc();
  const chosen = search.get("version");
  const params: AnalyticsParams = {
    version: chosen === "all" ? null : chosen && /^\d+$/.test(chosen) ? Number(chosen) : latest,
    since: search.get("since") ?? shiftDay(today, DEFAULT_DAYS - 1),
    until: search.get("until") ?? today,
  };
  const update = (changes: Record<string, string>) => {
    const next = new URLSearchParams(search);
    for (const [key, value] of Object.entries(changes)) next.set(key, value);
    setSearch(next, { replace: true });
  };
  // Live: the figures are read again as contacts move through the workflow (at most once a second).
  const live = useLiveUpdates(`/ws/workflows/${workflowId}/`, [["analytics", workflowId]]);
  useEffect(() => {
    document.title = `Analytics of ${workflow.data?.name ?? "a workflow"} · PenguinFlow builder`;
  }, [workflow.data?.name]);

  const failed = [workflow, versions, nodeTypes].find((query) => query.error);
  if (failed) {
    return (
      <main className="analytics-page">
        <ErrorNotice error={failed.error} onRetry={() => void failed.refetch()} />
        <Link to="/">Back to the workflows</Link>
      </main>
    );
  }
  if (!workflow.data || !versions.data || !nodeTypes.data) return <p className="loading">Loading the analytics…</p>;
  return (
    <main className="analytics-page">
      <header className="canvas-header analytics-header">
        <Link to="/">← Workflows</Link>
        <Link to={`/workflows/${workflowId}`}>Open the canvas</Link>
        <h1>Analytics of {workflow.data.name}</h1>
        <LiveIndicator status={live} />
      </header>
      {latest === null ? (
        <p className="empty">
          Nothing to measure yet: this workflow has never been published. Publish it from the canvas; its funnel,
          goal conversions and split tests appear here as contacts go through it.
        </p>
      ) : (
        <>
          <RangeControls
            versions={versions.data.map((version) => version.number)}
            version={params.version}
            since={params.since}
            until={params.until}
            onChange={update}
          />
          <AnalyticsBody workflowId={workflowId} params={params} latest={latest} nodeTypes={nodeTypes.data} />
        </>
      )}
    </main>
  );
}

function AnalyticsBody({ workflowId, params, latest, nodeTypes }: { workflowId: string; params: AnalyticsParams; latest: number; nodeTypes: NodeTypeInfo[] }) {
  const problem = rangeProblem(params.since, params.until);
  const analytics = useAnalytics(workflowId, params);
  // The steps are named and ordered from the chosen version's graph; all versions are drawn on the latest's.
  const graphVersion = useVersion(workflowId, params.version ?? latest);
  const types = useMemo(() => new Map(nodeTypes.map((info) => [info.type, info])), [nodeTypes]);
  if (problem) return <p className="notice notice-warning" role="alert">{problem}</p>;
  const error = analytics.error ?? graphVersion.error;
  if (error) {
    return <ErrorNotice error={error} onRetry={() => void (analytics.error ? analytics.refetch() : graphVersion.refetch())} />;
  }
  if (!analytics.data || !graphVersion.data) return <p className="loading">Loading the figures…</p>;
  const graph: GraphJson = graphVersion.data.graph;
  const scope = params.version === null ? "all published versions" : `version ${params.version}`;
  return (
    <div className="analytics-body" aria-busy={analytics.isFetching}>
      <Summary analytics={analytics.data} scope={scope} />
      {totalEnrollments(analytics.data) === 0 ? (
        <p className="empty">
          No contact has entered {scope} yet. The funnel, the goal conversions and the split tests appear here as
          contacts go through it.
        </p>
      ) : (
        <>
          <FunnelSection graph={graph} analytics={analytics.data} types={types} scope={scope} graphVersion={params.version ?? latest} />
          <SeriesSection days={analytics.data.series.days} since={analytics.data.series.since} until={analytics.data.series.until} />
          <SplitTestsSection tests={analytics.data.split_tests} graph={graph} types={types} />
          <ChannelsSection channels={analytics.data.channels} graph={graph} types={types} />
        </>
      )}
    </div>
  );
}

function totalEnrollments(analytics: WorkflowAnalytics): number {
  return Object.values(analytics.enrollments).reduce((sum, value) => sum + value, 0);
}

function Summary({ analytics, scope }: { analytics: WorkflowAnalytics; scope: string }) {
  const total = totalEnrollments(analytics);
  const { active, waiting, completed, exited, failed } = analytics.enrollments;
  return (
    <section className="analytics-summary" aria-labelledby="summary-title">
      <h2 id="summary-title">All time, {scope}</h2>
      <dl>
        <div><dt>Entered</dt><dd>{total.toLocaleString("en")}</dd></div>
        <div><dt>In it now</dt><dd>{(active + waiting).toLocaleString("en")}</dd></div>
        <div><dt>Completed</dt><dd>{completed.toLocaleString("en")}</dd></div>
        <div><dt>Exited</dt><dd>{exited.toLocaleString("en")}</dd></div>
        <div><dt>Failed</dt><dd>{failed.toLocaleString("en")}</dd></div>
        <div>
          <dt>Goal conversions</dt>
          <dd>
            {analytics.goals.reached.toLocaleString("en")}
            {total > 0 && <span className="muted"> ({percent(analytics.goals.rate, 1)} of {plural(total, "contact")})</span>}
          </dd>
        </div>
      </dl>
    </section>
  );
}
