// The executions list's filters, kept in the page's query string (so a reload, a shared link or the canvas's
// "executions at this step" link opens the same list) and sent to the API under the same names (CONTRACT §9,
// docs/api-additions.md). Values are sent as typed: the server checks them and says in words what is wrong.

export const FILTER_NAMES = ["workflow", "version", "status", "contact", "node", "error_type", "since", "until", "q"] as const;

export type FilterName = (typeof FILTER_NAMES)[number];
export type ExecutionFilters = Partial<Record<FilterName, string>>;

/** What one page of the list is: the filters and, past the first page, the API's cursor. */
export interface ListParams {
  filters: ExecutionFilters;
  cursor?: string;
}

/** Read the list's state from the page's query string; unknown names are left out, empty values too. */
export function listParamsFromSearch(search: URLSearchParams): ListParams {
  const filters: ExecutionFilters = {};
  for (const name of FILTER_NAMES) {
    const value = search.get(name)?.trim();
    if (value) filters[name] = value;
  }
  const cursor = search.get("cursor") || undefined;
  return cursor ? { filters, cursor } : { filters };
}

/** The query string of a list state, filters in a fixed order (so equal states are equal strings). */
export function searchOf({ filters, cursor }: ListParams): URLSearchParams {
  const search = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const value = filters[name];
    if (value) search.set(name, value);
  }
  if (cursor) search.set("cursor", cursor);
  return search;
}

/** The cursor the API's `next`/`previous` link carries (it answers full URLs), or undefined. */
export function cursorOf(link: string | null | undefined): string | undefined {
  if (!link) return undefined;
  return new URL(link, "http://any.invalid").searchParams.get("cursor") ?? undefined;
}

export function hasFilters(filters: ExecutionFilters): boolean {
  return FILTER_NAMES.some((name) => filters[name]);
}

// --- the date range ---------------------------------------------------------------------------------------------
// The form picks whole days in the browser's time zone; the API takes moments, `since` inclusive and `until`
// exclusive. So "from 2 Dec to 3 Dec" is since = 2 Dec 00:00 local, until = 4 Dec 00:00 local.

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function localMidnight(day: string, addDays = 0): Date | null {
  const match = DAY.exec(day);
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + addDays);
  return Number.isNaN(date.getTime()) ? null : date;
}

function dayOf(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** `since` for a first day (YYYY-MM-DD): that day's start, as an ISO moment; "" for no day. */
export function sinceOfDay(day: string): string {
  return localMidnight(day)?.toISOString() ?? "";
}

/** `until` for a last day, inclusive in the form: the next day's start; "" for no day. */
export function untilOfDay(day: string): string {
  return localMidnight(day, 1)?.toISOString() ?? "";
}

/** The first day the form shows for `since`; "" when it is not a moment (the API will say why). */
export function dayOfSince(since: string | undefined): string {
  const date = since ? new Date(since) : null;
  return date && !Number.isNaN(date.getTime()) ? dayOf(date) : "";
}

/** The last day the form shows for `until` (exclusive): the day of the moment just before it. */
export function dayOfUntil(until: string | undefined): string {
  const date = until ? new Date(until) : null;
  return date && !Number.isNaN(date.getTime()) ? dayOf(new Date(date.getTime() - 1)) : "";
}
