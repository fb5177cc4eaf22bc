// Each step's counts on a canvas (entered, waiting now, failed, goal conversions), each a link to the executions
// at that step, and on a trigger the entries it offered that did not start (why, on hover). Drawn with React
// Flow's node toolbars, so the step component knows nothing of them: dragging a step moves its own badge only, and
// a new count re-renders only the badges whose figures changed (each badge selects its own step's figures out of
// the one cached answer).
import { memo, useCallback } from "react";
import { Link } from "react-router";
import { NodeToolbar, Panel, Position } from "@xyflow/react";
import { errorText } from "../api/client";
import { LiveIndicator } from "../live/LiveIndicator";
import { pollMs } from "../live/liveLogic";
import { useLiveUpdates } from "../live/useLiveUpdates";
import { useGraph } from "../canvas/CanvasContext";
import { isNote } from "../canvas/notes";
import { useVersion } from "../versions/versionQueries";
import { COUNTERS_REFRESH_MS, useCanvasCounts, type CanvasCounts } from "./analyticsQueries";
import { countsCaption, executionsLink, goalsLink, nodeFigures } from "./counters";
import { useCountsPreference } from "./countsPreference";
import "./counters.css";

/** The header's switch for the counts. */
export function CountsToggle() {
  const { shown, toggle } = useCountsPreference();
  return (
    <button type="button" className="counts-toggle" onClick={toggle} aria-pressed={shown} title="Show how many contacts reached each step">
      Show counts
    </button>
  );
}

interface StepRef {
  id: string;
  name: string;
}

// One text per graph (ids and names), so the draft's counters re-render when a step is added, removed or renamed,
// never while one is dragged.
function stepsText(nodes: readonly { id: string; type?: string; data: { label?: string | null } }[]): string {
  return nodes.filter((node) => !isNote(node)).map((node) => `${node.id}\t${node.data.label ?? ""}`).join("\n");
}

function stepsOf(text: string): StepRef[] {
  return text ? text.split("\n").map((line) => {
    const [id = "", name = ""] = line.split("\t");
    return { id, name: name || id };
  }) : [];
}

/** The draft canvas's counts: the latest published version's. Must be rendered inside <ReactFlow>. */
export function DraftCounters({ workflowId }: { workflowId: string }) {
  const shown = useCountsPreference((state) => state.shown);
  const text = useGraph((state) => (shown ? stepsText(state.nodes) : ""));
  if (!shown) return null;
  return <CountersLayer workflowId={workflowId} version={null} steps={stepsOf(text)} />;
}

/** A published version's canvas's counts. Must be rendered inside <ReactFlow>. */
export function VersionCounters({ workflowId, version, steps }: { workflowId: string; version: number; steps: StepRef[] }) {
  const shown = useCountsPreference((state) => state.shown);
  if (!shown) return null;
  return <CountersLayer workflowId={workflowId} version={version} steps={steps} />;
}

const selectVersion = (counts: CanvasCounts) => ({ version: counts.version, goals: counts.analytics?.goals ?? null });

function CountersLayer({ workflowId, version, steps }: { workflowId: string; version: number | null; steps: StepRef[] }) {
  // Live while shown: the workflow's socket says when contacts moved, and the counts are read again.
  const live = useLiveUpdates(`/ws/workflows/${workflowId}/`, [["workflow-counters", workflowId]]);
  const summary = useCanvasCounts(workflowId, version, true, selectVersion, pollMs(live, COUNTERS_REFRESH_MS));
  const counted = summary.data?.version ?? null;
  // The steps of the counted version: a step added in the draft since has no counts, and says so.
  const published = useVersion(workflowId, counted);
  const publishedIds = published.data ? new Set((published.data.graph.nodes ?? []).map((node) => node.id)) : null;
  return (
    <>
      <Panel position="top-right" className="counts-caption">
        <LiveIndicator status={live} />{" "}
        {summary.error ? (
          <span role="alert">The counts could not be loaded: {errorText(summary.error)}</span>
        ) : !summary.data ? (
          "Loading the counts…"
        ) : (
          <>
            {countsCaption(counted, version === null ? "draft" : "version")}{" "}
            {summary.data.goals && (
              <Link to={`/workflows/${workflowId}/analytics`}>
                {summary.data.goals.reached.toLocaleString("en")} goal conversion{summary.data.goals.reached === 1 ? "" : "s"} in all
              </Link>
            )}
          </>
        )}
      </Panel>
      {counted !== null &&
        steps.map((step) => (
          <NodeToolbar key={step.id} nodeId={step.id} isVisible position={Position.Bottom} offset={22}>
            {publishedIds && !publishedIds.has(step.id) ? (
              <p className="counts-badge counts-none">Not in version {counted} yet</p>
            ) : (
              <CounterBadge workflowId={workflowId} version={version} step={step} />
            )}
          </NodeToolbar>
        ))}
    </>
  );
}

const CounterBadge = memo(function CounterBadge({ workflowId, version, step }: { workflowId: string; version: number | null; step: StepRef }) {
  const select = useCallback(
    (counts: CanvasCounts) => (counts.analytics ? nodeFigures(counts.analytics, step.id) : null),
    [step.id],
  );
  const figures = useCanvasCounts(workflowId, version, true, select).data;
  if (!figures) return null;
  const link = (status?: "failed" | "waiting") => executionsLink(workflowId, step.id, status);
  return (
    <ul className="counts-badge" aria-label={`Counts of “${step.name}”`} data-counts-node={step.id}>
      <li>
        <Link to={link()} aria-label={`${figures.entered} entered “${step.name}”: show their executions`} data-count="entered">
          <b>{figures.entered.toLocaleString("en")}</b> entered
        </Link>
      </li>
      <li>
        <Link to={link("waiting")} aria-label={`${figures.waitingNow} waiting at “${step.name}” now: show them`} data-count="waiting">
          <b>{figures.waitingNow.toLocaleString("en")}</b> waiting
        </Link>
      </li>
      <li className={figures.failed > 0 ? "counts-failed" : undefined}>
        <Link to={link("failed")} aria-label={`${figures.failed} failed at “${step.name}”: show their executions`} data-count="failed">
          <b>{figures.failed.toLocaleString("en")}</b> failed
        </Link>
      </li>
      <li>
        <Link
          to={goalsLink(workflowId, step.id, figures.isSplit)}
          aria-label={`${figures.goals} goals reached after “${step.name}”: see ${figures.isSplit ? "the split test" : "the funnel"}`}
          data-count="goals"
        >
          <b>{figures.goals.toLocaleString("en")}</b> goals
        </Link>
      </li>
      {figures.notStarted && (
        // Not a link: entries that did not start have no executions to open. The reasons show on hover and are
        // read out.
        <li className="counts-not-started" title={figures.notStarted.reasons} data-count="not-started">
          <span>
            <b>{figures.notStarted.total.toLocaleString("en")}</b> not started
            <span className="visually-hidden">: {figures.notStarted.reasons}</span>
          </span>
        </li>
      )}
      {figures.allocation && (
        <li className="counts-allocation">
          <Link
            to={goalsLink(workflowId, step.id, true)}
            title={figures.allocation.reason}
            aria-label={`${figures.allocation.summary}. ${figures.allocation.reason} See the split test`}
            data-count="allocation"
          >
            {figures.allocation.summary}
          </Link>
        </li>
      )}
    </ul>
  );
});
