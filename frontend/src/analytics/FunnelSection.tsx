import { Bar, BarChart, CartesianGrid, LabelList, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { GraphJson, NodeTypeInfo, WorkflowAnalytics } from "../api/types";
import { useHashTarget } from "./useHashTarget";
import { notStartedFigures } from "./counters";
import { buildFunnel, type FunnelStep } from "./funnel";
import { percent } from "./splitTests";

interface FunnelSectionProps {
  graph: GraphJson;
  analytics: WorkflowAnalytics;
  types: ReadonlyMap<string, NodeTypeInfo>;
  scope: string;
  graphVersion: number;
}

const ROW_HEIGHT = 34;

/** How many contacts entered each step, in graph order, as bars and as a table with what was lost between steps. */
export function FunnelSection({ graph, analytics, types, scope, graphVersion }: FunnelSectionProps) {
  const hashTarget = useHashTarget();
  const funnel = buildFunnel(graph, analytics.nodes, types);
  const data = funnel.steps.map((step) => ({ name: indented(step), entered: step.entered }));
  const summary = funnel.steps.map((step) => `${step.name}: ${step.entered}`).join("; ");
  return (
    <section className="analytics-section" aria-labelledby="funnel-title">
      <h2 id="funnel-title">Funnel: contacts who entered each step</h2>
      <p className="muted">
        Steps in the order a contact meets them{scope.startsWith("all") ? `, as drawn in version ${graphVersion}` : ""}.
        Counts are all time, for {scope}.
      </p>
      <div className="chart" role="img" aria-label={`Bar chart of contacts who entered each step. ${summary}.`}>
        <ResponsiveContainer width="100%" height={Math.max(120, data.length * ROW_HEIGHT + 40)}>
          <BarChart data={data} layout="vertical" margin={{ left: 8, right: 48, top: 8, bottom: 8 }} accessibilityLayer={false}>
            <CartesianGrid horizontal={false} />
            <XAxis type="number" allowDecimals={false} />
            <YAxis type="category" dataKey="name" width={220} interval={0} tick={{ fontSize: 12 }} />
            <Tooltip />
            <Bar dataKey="entered" name="Entered" fill="#2f6fd6" isAnimationActive={false}>
              <LabelList dataKey="entered" position="right" />
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="analytics-table" aria-label="Funnel by step">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Entered</th>
            <th scope="col">Of all entries</th>
            <th scope="col">From the step before</th>
            <th scope="col">Waiting now</th>
            <th scope="col">Failed</th>
            <th scope="col">Goal conversions after it</th>
          </tr>
        </thead>
        <tbody>
          {funnel.steps.map((step) => (
            <tr key={step.nodeId} data-node={step.nodeId} id={`step-${step.nodeId}`} ref={hashTarget(`step-${step.nodeId}`)}>
              <th scope="row" style={{ paddingLeft: `${0.5 + step.depth * 0.9}rem` }}>
                {step.name} <span className="muted">({step.typeLabel})</span>
              </th>
              <td data-cell="entered">{step.entered.toLocaleString("en")}</td>
              <td>{step.reach === null ? "—" : percent(step.reach, 1)}</td>
              <td data-cell="from-before">{fromBefore(step)}</td>
              <td data-cell="waiting">{step.waitingNow.toLocaleString("en")}</td>
              <td data-cell="failed">{step.failed.toLocaleString("en")}</td>
              <td data-cell="goals">{goalsText(step)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {funnel.steps.map((step) => {
        const notStarted = notStartedFigures(analytics, step.nodeId);
        return (
          notStarted && (
            <p key={step.nodeId} data-not-started={step.nodeId}>
              “{step.name}” offered {notStarted.total.toLocaleString("en")} more{" "}
              {notStarted.total === 1 ? "entry that" : "entries that"} did not start: {notStarted.reasons}.
            </p>
          )
        );
      })}
      {funnel.elsewhere.length > 0 && (
        <p className="muted">
          Also counted, at steps this version’s graph does not have (removed since):{" "}
          {funnel.elsewhere.map((step) => `${step.nodeId} (${step.entered.toLocaleString("en")} entered)`).join(", ")}.
        </p>
      )}
    </section>
  );
}

// Branches are told apart by indentation in the chart's labels too (a non-breaking space per level).
function indented(step: FunnelStep): string {
  return `${"\u00a0\u00a0".repeat(step.depth)}${step.name}`;
}

function goalsText(step: FunnelStep): string {
  if (step.entered === 0 || step.goals === 0) return step.goals.toLocaleString("en");
  return `${step.goals.toLocaleString("en")} (${percent(step.goals / step.entered, 1)})`;
}

/** What became of the contacts between the step before and this one, in words. */
export function fromBefore(step: FunnelStep): string {
  if (!step.previous) return "—";
  if (step.branchShare !== null) {
    return `${percent(step.branchShare, 1)} of “${step.previous.name}” took “${step.previous.branch}”`;
  }
  if (step.dropOff === null) return "—";
  if (step.dropOff <= 0) return "none lost";
  const share = step.previous.entered > 0 ? ` (${percent(step.dropOff / step.previous.entered, 1)})` : "";
  // Contacts still waiting at the step before have not dropped off: they may yet come.
  const waiting = step.previous.waitingNow > 0
    ? `, of whom ${step.previous.waitingNow.toLocaleString("en")} still waiting at “${step.previous.name}”`
    : "";
  return `${step.dropOff.toLocaleString("en")} fewer${share}${waiting}`;
}
