// The one way the builder talks to /api/v1/: the session cookie, the CSRF token on unsafe methods, and every
// error turned into an ApiError whose message says what happened in words (CONTRACT §2's error format). When the
// session ends (a 401), requests are held, not failed: the session dialog asks the user to log in again on the
// page, and they are sent again then (so a draft save made meanwhile is saved, not lost).
import { markSessionEnded, untilSessionRestored } from "../session/sessionState";

export interface ApiErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code;
    this.details = body.details;
  }
}

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function csrfToken(cookie: string = document.cookie): string {
  const match = cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return match ? decodeURIComponent(match.slice("csrftoken=".length)) : "";
}

/** Say in words what a failed answer means when the server sent no error body of ours. */
export function fallbackError(status: number): ApiErrorBody {
  if (status === 401) {
    return {
      code: "not_logged_in",
      message:
        "Your session has ended. Log in again in the dialog on this page: nothing on this page is lost.",
      details: {},
    };
  }
  if (status === 403) {
    return { code: "forbidden", message: "You are not allowed to do this in this workspace.", details: {} };
  }
  if (status >= 500) {
    return { code: "server_error", message: `The server failed (HTTP ${status}). Try again in a moment.`, details: {} };
  }
  return { code: "http_error", message: `The request was refused (HTTP ${status}).`, details: {} };
}

function isErrorBody(value: unknown): value is { error: ApiErrorBody } {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && typeof (error as ApiErrorBody).message === "string";
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  for (;;) {
    await untilSessionRestored();
    try {
      return await send<T>(path, init);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
      markSessionEnded();
    }
  }
}

async function send<T>(path: string, init: { method?: string; body?: unknown }): Promise<T> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE_METHODS.has(method)) headers["X-CSRFToken"] = csrfToken();
  let response: Response;
  try {
    response = await fetch(`/api/v1/${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch {
    throw new ApiError(0, {
      code: "network_error",
      message: "The server did not answer. Check that PenguinFlow is running, then retry.",
      details: {},
    });
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let payload: unknown = undefined;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    payload = undefined;
  }
  if (!response.ok) {
    // A 401 is always the session (the API's own words speak of API keys); anything else is said by the server.
    const body = isErrorBody(payload) && response.status !== 401 ? payload.error : fallbackError(response.status);
    throw new ApiError(response.status, body);
  }
  return payload as T;
}

/** The error in words: the server's sentence, then what it said about each field (`details`), when it did. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = Object.entries(error.details).flatMap(([field, said]) => {
      const words = (Array.isArray(said) ? said : [said]).filter((item): item is string => typeof item === "string");
      return words.length ? [`${field === "non_field_errors" ? "" : `${field}: `}${words.join(" ")}`] : [];
    });
    return [error.message, ...fields].join(" ");
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong. Try again.";
}
