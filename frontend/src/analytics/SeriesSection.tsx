import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { dayLabel, seriesView, type Day } from "./series";
import { plural } from "./splitTests";

/** Entries and goal conversions per UTC day over the chosen range, as bars and as a table. */
export function SeriesSection({ days, since, until }: { days: Day[]; since: string; until: string }) {
  const view = seriesView(days);
  const range = days.length === 0 ? "no day" : `${dayLabel(since)} to ${dayLabel(until)} (UTC)`;
  return (
    <section className="analytics-section" aria-labelledby="series-title">
      <h2 id="series-title">Goal conversions over time</h2>
      <p className="muted">
        {range}: {plural(view.goals, "goal conversion")} and {plural(view.entries, "entry", "entries")} in the range. A day’s
        conversions may come from contacts who entered on earlier days.
      </p>
      {!view.hasData ? (
        <p className="empty">No contact entered or converted in this range. Choose a wider range or another version.</p>
      ) : (
        <>
          <div
            className="chart"
            role="img"
            aria-label={`Bar chart by day of goal conversions and entries, ${range}: ${view.goals} goal conversions and ${view.entries} entries in all.`}
          >
            <ResponsiveContainer width="100%" height={260}>
              <BarChart data={view.points} margin={{ left: 8, right: 16, top: 8, bottom: 8 }} accessibilityLayer={false}>
                <CartesianGrid vertical={false} />
                <XAxis dataKey="label" interval="preserveStartEnd" minTickGap={16} />
                <YAxis allowDecimals={false} />
                <Tooltip />
                <Legend formatter={legendText} />
                <Bar dataKey="goals" name="Goal conversions" fill="#1b8a5a" isAnimationActive={false} />
                <Bar dataKey="entries" name="Entries" fill="#9db7e4" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <details className="analytics-details">
            <summary>The numbers by day</summary>
            <table className="analytics-table" aria-label="Goal conversions and entries by day">
              <thead>
                <tr>
                  <th scope="col">Day (UTC)</th>
                  <th scope="col">Goal conversions</th>
                  <th scope="col">Entries</th>
                </tr>
              </thead>
              <tbody>
                {view.points.map((point) => (
                  <tr key={point.day} data-day={point.day}>
                    <th scope="row">{point.label}</th>
                    <td data-cell="goals">{point.goals.toLocaleString("en")}</td>
                    <td data-cell="entries">{point.entries.toLocaleString("en")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </section>
  );
}

// The legend's words in the text colour (the series' own colours are too light to read as text).
function legendText(value: string) {
  return <span className="chart-legend-text">{value}</span>;
}
