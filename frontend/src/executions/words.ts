// How the executions screens say things: times, durations, statuses and the server's refusal codes, in words.
import type { ExecutionStatus } from "./types";

export function momentText(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** A duration as a person reads it: 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min, 3 d 4 h. */
export function durationText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export const STATUS_WORDS: Record<ExecutionStatus, string> = {
  active: "Running",
  waiting: "Waiting",
  completed: "Completed",
  exited: "Exited",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** Why a retry was refused (the 409's and the bulk answer's `code`), as the person who asked needs to read it. */
export const REFUSAL_WORDS: Record<string, string> = {
  not_failed: "it had not failed",
  already_enrolled: "the contact is in the workflow again already",
  node_not_in_version: "its step is not in the latest published version",
  no_published_version: "the workflow has no published version",
};

/** "2 because …, 1 because …" from a bulk answer's `refused` (execution id -> code). */
export function refusalsText(refused: Record<string, string>): string {
  const counts = new Map<string, number>();
  for (const code of Object.values(refused)) counts.set(code, (counts.get(code) ?? 0) + 1);
  return [...counts].map(([code, count]) => `${count} because ${REFUSAL_WORDS[code] ?? code}`).join(", ");
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}

/** A value a step saw, shown as written in a rule: strings quoted, null as "no value". */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return "no value";
  return JSON.stringify(value);
}
