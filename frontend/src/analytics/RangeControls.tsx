import { DEFAULT_DAYS, shiftDay, todayUtc } from "./series";

const PRESETS = [7, DEFAULT_DAYS, 90];

interface RangeControlsProps {
  versions: number[];
  version: number | null;
  since: string;
  until: string;
  onChange: (changes: Record<string, string>) => void;
}

/** The version and the days the page shows. The days narrow the chart over time only (the API keeps totals all-time). */
export function RangeControls({ versions, version, since, until, onChange }: RangeControlsProps) {
  const today = todayUtc();
  return (
    <form className="analytics-controls" aria-label="What the figures cover" onSubmit={(event) => event.preventDefault()}>
      <div>
        <label htmlFor="analytics-version">Version</label>
        <select id="analytics-version" value={version ?? "all"} onChange={(event) => onChange({ version: event.target.value })}>
          {versions.map((number, index) => (
            <option key={number} value={number}>
              Version {number}
              {index === 0 ? " (latest)" : ""}
            </option>
          ))}
          <option value="all">All published versions</option>
        </select>
      </div>
      <div>
        <label htmlFor="analytics-since">From</label>
        <input id="analytics-since" type="date" value={since} max={until} onChange={(event) => onChange({ since: event.target.value })} />
      </div>
      <div>
        <label htmlFor="analytics-until">To</label>
        <input id="analytics-until" type="date" value={until} max={today} onChange={(event) => onChange({ until: event.target.value })} />
      </div>
      <div className="analytics-presets" role="group" aria-label="Quick ranges">
        {PRESETS.map((days) => (
          <button
            key={days}
            type="button"
            aria-pressed={until === today && since === shiftDay(today, days - 1)}
            onClick={() => onChange({ since: shiftDay(today, days - 1), until: today })}
          >
            Last {days} days
          </button>
        ))}
      </div>
      <p className="muted analytics-scope-note">
        The days choose the range of the chart over time; the funnel and the split tests count everything since the
        version was published.
      </p>
    </form>
  );
}
