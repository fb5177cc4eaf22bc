// Shared by the side panel (duration inputs) and test mode (event timings, waits in words).
// Durations as people type them ("2 days", "3h", "1 week 2 days", "3 days before") and as the server stores them
// (ISO 8601: "P2D", "-P3D"; CONTRACT: durations are ISO 8601). Weeks, days, hours, minutes and seconds only: the
// server refuses months and years, whose length depends on the calendar.

export type DurationParse = { iso: string } | { problem: string };

type Unit = "week" | "day" | "hour" | "minute" | "second";
const SECONDS: Record<Unit, number> = { week: 604_800, day: 86_400, hour: 3_600, minute: 60, second: 1 };

// Each spelling of a unit, mapped to its name in SECONDS.
const UNIT_NAMES: Record<string, Unit> = {
  w: "week", wk: "week", wks: "week", week: "week", weeks: "week",
  d: "day", day: "day", days: "day",
  h: "hour", hr: "hour", hrs: "hour", hour: "hour", hours: "hour",
  m: "minute", min: "minute", mins: "minute", minute: "minute", minutes: "minute",
  s: "second", sec: "second", secs: "second", second: "second", seconds: "second",
};
const CALENDAR_UNITS = /^(months?|mo|mos|years?|yrs?|y)$/;

const ISO = /^([-+])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;
const ISO_CALENDAR = /^[-+]?P(?:\d+Y)?(?:\d+M)?(?:\d+[WD])?(?:T.*)?$/;

/**
 * Read a duration typed in words or in ISO 8601 and return its ISO 8601 text, or a sentence saying what is
 * wrong. A negative duration ("-3 days", "3 days before") is accepted only with `allowNegative`.
 */
export function parseDuration(text: string, { allowNegative = false } = {}): DurationParse {
  const typed = text.trim();
  if (!typed) return { problem: "Type a duration, e.g. “2 days”, “3 hours” or “1 week 2 days”." };
  const seconds = /^[-+]?p/i.test(typed) ? isoSeconds(typed.toUpperCase()) : wordsSeconds(typed.toLowerCase());
  if (typeof seconds === "string") return { problem: seconds };
  if (seconds < 0 && !allowNegative) {
    return { problem: "This wait cannot be negative: type how long it lasts, e.g. “3 days”." };
  }
  return { iso: isoOf(seconds) };
}

function isoSeconds(text: string): number | string {
  const match = ISO.exec(text);
  if (!match || text.replace(/^[-+]/, "") === "P" || text.endsWith("T")) {
    if (ISO_CALENDAR.test(text) && /\d+Y|P(\d+Y)?\d+M/.test(text)) return calendarProblem();
    return `“${text}” is not a duration: type it in words (“2 days”) or in ISO 8601 (“P2D”, “PT3H”).`;
  }
  const [, sign, weeks, days, hours, minutes, secs] = match;
  const total = Number(weeks ?? 0) * SECONDS.week + Number(days ?? 0) * SECONDS.day
    + Number(hours ?? 0) * SECONDS.hour + Number(minutes ?? 0) * SECONDS.minute + Number(secs ?? 0);
  return sign === "-" ? -total : total;
}

function wordsSeconds(text: string): number | string {
  let rest = text;
  let negative = false;
  if (/\bbefore$/.test(rest)) {
    negative = true;
    rest = rest.replace(/\bbefore$/, "");
  } else if (/\bafter$/.test(rest)) {
    rest = rest.replace(/\bafter$/, "");
  }
  rest = rest.trim();
  if (rest.startsWith("-")) {
    negative = !negative;
    rest = rest.slice(1);
  }
  const parts = rest.replace(/,|\band\b/g, " ").trim();
  if (!parts) return "Give a number and a unit, e.g. “2 days”.";
  const pattern = /(\d+(?:\.\d+)?|(?<![a-z])(?:an?|one))\s*([a-z]+)(?=\d|\s|$)/g;
  let total = 0;
  let consumed = "";
  for (const [whole, amount, unit] of parts.matchAll(pattern)) {
    if (amount === undefined || unit === undefined) continue;
    if (CALENDAR_UNITS.test(unit)) return calendarProblem();
    const name = UNIT_NAMES[unit];
    if (!name) return `“${unit}” is not a unit: use weeks, days, hours, minutes or seconds.`;
    const count = amount === "a" || amount === "an" || amount === "one" ? 1 : Number(amount);
    total += count * SECONDS[name];
    consumed += whole;
  }
  if (consumed.replace(/\s/g, "") !== parts.replace(/\s/g, "")) {
    return `“${text.trim()}” is not a duration: type a number and a unit, e.g. “2 days”, “3h” or “90 minutes”.`;
  }
  if (!Number.isInteger(total)) return "Round it to whole seconds, e.g. “1 hour 30 minutes” rather than fractions.";
  return negative ? -total : total;
}

function calendarProblem(): string {
  return "Months and years vary in length, so a wait cannot use them: use days or weeks (e.g. “30 days”).";
}

/** Return the ISO 8601 text of a number of seconds, in days, hours, minutes and seconds (as the server writes). */
export function isoOf(totalSeconds: number): string {
  const sign = totalSeconds < 0 ? "-" : "";
  let rest = Math.abs(totalSeconds);
  const days = Math.floor(rest / SECONDS.day);
  rest -= days * SECONDS.day;
  const hours = Math.floor(rest / SECONDS.hour);
  rest -= hours * SECONDS.hour;
  const minutes = Math.floor(rest / SECONDS.minute);
  const seconds = rest - minutes * SECONDS.minute;
  const time = `${hours ? `${hours}H` : ""}${minutes ? `${minutes}M` : ""}${seconds ? `${seconds}S` : ""}`;
  if (!days && !time) return "PT0S";
  return `${sign}P${days ? `${days}D` : ""}${time ? `T${time}` : ""}`;
}

/**
 * Say an ISO 8601 duration in words ("P2D" → "2 days", "-P3D" → "3 days before"); a whole number of weeks is
 * said in weeks. Text that is not a duration is returned as it is, so nothing stored is hidden.
 */
export function formatDuration(iso: string): string {
  const seconds = isoSeconds(iso.trim().toUpperCase());
  if (typeof seconds === "string") return iso;
  if (seconds === 0) return "0 minutes";
  let rest = Math.abs(seconds);
  const words: string[] = [];
  const units: Unit[] = rest % SECONDS.week === 0 ? ["week"] : ["day", "hour", "minute", "second"];
  for (const unit of units) {
    const count = Math.floor(rest / SECONDS[unit]);
    if (count) words.push(`${count} ${unit}${count === 1 ? "" : "s"}`);
    rest -= count * SECONDS[unit];
  }
  return words.join(" ") + (seconds < 0 ? " before" : "");
}

/** How long from one moment to another, in words ("3 days 30 minutes"). */
export function spanInWords(fromIso: string, toIso: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  return formatDuration(isoOf(seconds));
}
