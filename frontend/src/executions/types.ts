// The executions' shapes, from the generated schema. The schema leaves `contact` and `error` open (they are
// built by hand on the server), so they are read here once, into what the serializers actually answer.
import type { components } from "../api/schema.gen";

type Schemas = components["schemas"];

export type ExecutionStatus = Schemas["ExecutionStatusEnum"];
export type Execution = Schemas["Execution"];
export type ExecutionDetail = Schemas["ExecutionDetail"];
export type StepRun = Schemas["StepRun"];
export type BulkRetryAnswer = Schemas["BulkRetryAnswer"];
export type BulkCancelAnswer = Schemas["BulkCancelAnswer"];

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  "active",
  "waiting",
  "completed",
  "exited",
  "failed",
  "cancelled",
];

export interface ContactRef {
  id: string;
  email: string;
}

export interface ErrorInfo {
  type: string;
  message: string;
  traceback: string;
}

export function contactOf(execution: Execution): ContactRef {
  const { id, email } = execution.contact as Partial<ContactRef>;
  return { id: String(id ?? ""), email: String(email ?? "") };
}

/** An execution's or a step's error, or null when it has none. */
export function errorOf(value: unknown): ErrorInfo | null {
  if (typeof value !== "object" || value === null) return null;
  const error = value as Partial<Record<keyof ErrorInfo, unknown>>;
  const text = (field: unknown) => (typeof field === "string" ? field : "");
  return { type: text(error.type), message: text(error.message), traceback: text(error.traceback) };
}

/** Where a retry resumes and on which version (CONTRACT §9a). */
export interface RetryOptions {
  from: "failed_step" | "start";
  version: "own" | "latest";
}

export const DEFAULT_RETRY: RetryOptions = { from: "failed_step", version: "own" };
