// The goal conversions over time, shaped for a chart and its table.

// The days the page shows until others are chosen (the API's default too).
export const DEFAULT_DAYS = 30;
export interface Day {
  day: string;
  entries: number;
  goals: number;
}

export interface SeriesPoint extends Day {
  /** The day as the axis and the table say it: "Nov 22". */
  label: string;
}

export interface SeriesView {
  points: SeriesPoint[];
  entries: number;
  goals: number;
  /** Whether any day of the range has an entry or a conversion. */
  hasData: boolean;
}

const DAY_LABEL = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });

export function dayLabel(day: string): string {
  return DAY_LABEL.format(new Date(`${day}T00:00:00Z`));
}

export function seriesView(days: readonly Day[]): SeriesView {
  const points = days.map((day) => ({ ...day, label: dayLabel(day.day) }));
  const entries = days.reduce((sum, day) => sum + day.entries, 0);
  const goals = days.reduce((sum, day) => sum + day.goals, 0);
  return { points, entries, goals, hasData: entries + goals > 0 };
}

/** The UTC day `days` days before `from` (or after, when negative), as the API writes days: 2026-11-22. */
export function shiftDay(from: string, days: number): string {
  const date = new Date(`${from}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - days);
  return date.toISOString().slice(0, 10);
}

export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** Say what is wrong with a chosen range, or null when the API can answer it. */
export function rangeProblem(since: string, until: string): string | null {
  const shape = /^\d{4}-\d{2}-\d{2}$/;
  if (!shape.test(since) || !shape.test(until)) return "Choose both days of the range.";
  if (since > until) return "The first day is after the last: choose a first day on or before the last.";
  return null;
}
