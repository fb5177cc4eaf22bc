// Durations as people type them ("2 days", "3h", "1 week 2 days", "90 minutes") turned into the ISO 8601 durations
// the API takes (CONTRACT: `P2D`, `PT3H`). An ISO duration typed as such is kept as it is.

export type DurationParse = { ok: true; iso: string } | { ok: false; error: string };

const UNIT_SECONDS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
  w: 604800, wk: 604800, wks: 604800, week: 604800, weeks: 604800,
};

const ISO_DURATION = /^P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
const PART = /(\d+(?:\.\d+)?)\s*([a-z]+)/g;

const EXAMPLES = "Write it like “2 days”, “3h”, “1 week”, “90 minutes” or “1d 12h”.";

/** Read a typed duration; say what is wrong in words when it cannot be read. */
export function parseDuration(text: string): DurationParse {
  const typed = text.trim();
  if (!typed) return { ok: false, error: `Give a duration. ${EXAMPLES}` };
  if (ISO_DURATION.test(typed.toUpperCase())) return { ok: true, iso: typed.toUpperCase() };
  const lower = typed.toLowerCase().replace(/,|\band\b/g, " ");
  let seconds = 0;
  let consumed = "";
  for (const match of lower.matchAll(PART)) {
    const unit = UNIT_SECONDS[match[2] ?? ""];
    if (unit === undefined) return { ok: false, error: `“${match[2]}” is not a unit of time. ${EXAMPLES}` };
    seconds += Number(match[1]) * unit;
    consumed += match[0];
  }
  if (!consumed || consumed.replace(/\s/g, "") !== lower.replace(/\s/g, "")) {
    return { ok: false, error: `“${typed}” is not a duration. ${EXAMPLES}` };
  }
  if (!Number.isInteger(seconds)) return { ok: false, error: "Give whole seconds at least (e.g. “90 minutes”)." };
  return { ok: true, iso: isoFromSeconds(seconds) };
}

/** Whole seconds as an ISO 8601 duration in days, hours, minutes and seconds (a week is written as 7 days). */
export function isoFromSeconds(total: number): string {
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const time = `${hours ? `${hours}H` : ""}${minutes ? `${minutes}M` : ""}${seconds ? `${seconds}S` : ""}`;
  if (!days && !time) return "PT0S";
  return `P${days ? `${days}D` : ""}${time ? `T${time}` : ""}`;
}

/** An ISO duration said in words ("2 days 3 hours"), for the timeline; the ISO text when it is not one we read. */
export function durationInWords(iso: string): string {
  const match = ISO_DURATION.exec(iso);
  if (!match) return iso;
  const parts: string[] = [];
  const add = (value: string | undefined, unit: string) => {
    const count = value ? parseFloat(value) : 0;
    if (count) parts.push(`${count} ${unit}${count === 1 ? "" : "s"}`);
  };
  add(match[1], "week");
  add(match[2], "day");
  add(match[4], "hour");
  add(match[5], "minute");
  add(match[6], "second");
  return parts.length ? parts.join(" ") : "no time";
}

/** How long from one moment to another, in words ("2 days 4 hours"). */
export function spanInWords(fromIso: string, toIso: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  return durationInWords(isoFromSeconds(seconds));
}
