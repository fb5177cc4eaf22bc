import { Bar, BarChart, CartesianGrid, LabelList, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { useHashTarget } from "./useHashTarget";
import { percent, plural, splitTestViews, type SplitTestFigures, type SplitTestView } from "./splitTests";

interface SplitTestsSectionProps {
  tests: Record<string, SplitTestFigures>;
  graph: GraphJson;
  types: ReadonlyMap<string, NodeTypeInfo>;
}

/** Each split's variants: goal rate (with its plausible range), chance of being best, and the sample sizes. */
export function SplitTestsSection({ tests, graph, types }: SplitTestsSectionProps) {
  const views = splitTestViews(tests, graph, types);
  return (
    <section className="analytics-section" aria-labelledby="splits-title">
      <h2 id="splits-title">Split tests</h2>
      {views.length === 0 ? (
        <p className="empty">This version has no split step, so there is no test to compare.</p>
      ) : (
        <>
          <p className="muted">
            A variant’s goal rate is the share of the contacts who took it and then reached the workflow’s goal. The
            chance of being best weighs the rates against how many contacts each is measured on; the range is where the
            true rate lies with 95% probability. Contacts still in the workflow may yet convert, so rates rise while
            the test runs.
          </p>
          {views.map((view) => (
            <SplitTest key={view.nodeId} view={view} />
          ))}
        </>
      )}
    </section>
  );
}

function SplitTest({ view }: { view: SplitTestView }) {
  const hashTarget = useHashTarget();
  const data = view.variants.map((variant) => ({
    name: variant.label,
    rate: round(variant.rate * 100),
    // A range bar: from the low end of the plausible rate to its high end.
    range: [round(variant.low * 100), round(variant.high * 100)],
    best: round(variant.probabilityBest * 100),
  }));
  const height = Math.max(160, data.length * 56 + 70);
  // The rate axis ends at the next 10% above the highest range (a 2% rate is not drawn against 100%).
  const rateTop = Math.min(100, Math.max(10, Math.ceil(Math.max(...view.variants.map((variant) => variant.high * 100)) / 10) * 10));
  const words = view.variants
    .map((variant) => `${variant.label}: goal rate ${percent(variant.rate, 1)} of ${variant.entered} contacts, ${percent(variant.probabilityBest)} chance of being best`)
    .join("; ");
  return (
    <article ref={hashTarget(`split-${view.nodeId}`)} className="split-test" id={`split-${view.nodeId}`} aria-labelledby={`split-title-${view.nodeId}`} data-split={view.nodeId}>
      <h3 id={`split-title-${view.nodeId}`}>{view.name}</h3>
      <p className={`verdict verdict-${view.verdict.kind}`} data-verdict={view.verdict.kind}>
        {view.verdict.text}
      </p>
      <div className="split-charts">
        <figure>
          <figcaption>Goal rate, with its 95% range</figcaption>
          <div className="chart" role="img" aria-label={`Goal rate by variant. ${words}.`}>
            <ResponsiveContainer width="100%" height={height}>
              <BarChart data={data} layout="vertical" margin={{ left: 8, right: 56, top: 4, bottom: 4 }} accessibilityLayer={false}>
                <CartesianGrid horizontal={false} />
                <XAxis type="number" unit="%" domain={[0, rateTop]} allowDataOverflow />
                <YAxis type="category" dataKey="name" width={110} interval={0} />
                <Tooltip formatter={(value) => (Array.isArray(value) ? `${value.join("% – ")}%` : `${String(value)}%`)} />
                <Legend formatter={legendText} />
                <Bar dataKey="rate" name="Goal rate" fill="#1b8a5a" isAnimationActive={false}>
                  <LabelList dataKey="rate" position="right" formatter={(value) => `${String(value)}%`} />
                </Bar>
                <Bar dataKey="range" name="95% range" fill="#8fb9a3" barSize={8} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </figure>
        <figure>
          <figcaption>Chance of being best</figcaption>
          <div className="chart" role="img" aria-label={`Chance of being best by variant. ${words}.`}>
            <ResponsiveContainer width="100%" height={height}>
              <BarChart data={data} layout="vertical" margin={{ left: 8, right: 56, top: 4, bottom: 4 }} accessibilityLayer={false}>
                <CartesianGrid horizontal={false} />
                <XAxis type="number" unit="%" domain={[0, 100]} />
                <YAxis type="category" dataKey="name" width={110} interval={0} />
                <Tooltip formatter={(value) => `${String(value)}%`} />
                <Bar dataKey="best" name="Chance of being best" fill="#7a4fc2" isAnimationActive={false}>
                  <LabelList dataKey="best" position="right" formatter={(value) => `${String(value)}%`} />
                </Bar>
              </BarChart>
            </ResponsiveContainer>
          </div>
        </figure>
      </div>
      <table className="analytics-table" aria-label={`Variants of ${view.name}`}>
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Contacts (sample size)</th>
            <th scope="col">Goal conversions</th>
            <th scope="col">Goal rate</th>
            <th scope="col">95% range</th>
            <th scope="col">Chance of being best</th>
          </tr>
        </thead>
        <tbody>
          {view.variants.map((variant) => (
            <tr key={variant.id} data-variant={variant.id}>
              <th scope="row">{variant.label}</th>
              <td data-cell="entered">{variant.entered.toLocaleString("en")}</td>
              <td data-cell="goals">{variant.goals.toLocaleString("en")}</td>
              <td data-cell="rate">{variant.entered > 0 ? percent(variant.rate, 1) : "—"}</td>
              <td>{variant.entered > 0 ? `${percent(variant.low, 1)} – ${percent(variant.high, 1)}` : "—"}</td>
              <td data-cell="best">{percent(variant.probabilityBest, 1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        {view.method} Based on {plural(view.variants.reduce((sum, variant) => sum + variant.entered, 0), "contact")} in all.
      </p>
    </article>
  );
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

// The legend's words in the text colour (the series' own colours are too light to read as text).
function legendText(value: string) {
  return <span className="chart-legend-text">{value}</span>;
}
