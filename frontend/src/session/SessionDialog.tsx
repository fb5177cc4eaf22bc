import { useState, useSyncExternalStore, type FormEvent } from "react";
import { ApiError, csrfToken, type ApiErrorBody } from "../api/client";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { isSessionEnded, markSessionRestored, subscribeSession } from "./sessionState";
import "./session.css";

/** Log in again through the builder's JSON login (POST /builder/session), on this page, CSRF token included. */
async function logIn(username: string, password: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch("/builder/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new ApiError(0, { code: "network_error", message: "The server did not answer. Retry in a moment.", details: {} });
  }
  if (response.ok) return;
  const body = (await response.json().catch(() => null)) as { error?: ApiErrorBody } | null;
  throw new ApiError(response.status, body?.error ?? {
    code: "login_failed",
    message: `Logging in failed (HTTP ${response.status}). Reload the page to log in again: your edits are kept.`,
    details: {},
  });
}

/**
 * Shown when the session ends while the page is open: what the user was doing waits (the canvas keeps the draft,
 * the save is held) until they log in again here, then goes through. Closing it leaves a notice to reopen it.
 */
export function SessionDialog() {
  const ended = useSyncExternalStore(subscribeSession, isSessionEnded);
  const [dismissed, setDismissed] = useState(false);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    try {
      await logIn(username, password);
      setPassword("");
      setDismissed(false);
      markSessionRestored();
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(false);
    }
  };

  if (ended && dismissed) {
    return (
      <div className="notice notice-error session-notice" role="alert">
        <span>Your session ended: nothing is saved until you log in again. Your edits are kept on this page.</span>
        <button type="button" onClick={() => setDismissed(false)}>
          Log in again
        </button>
      </div>
    );
  }
  return (
    <Dialog title="Your session ended — log in again" open={ended} onClose={() => setDismissed(true)}>
      <p>
        You were logged out, so your latest changes are not saved yet. They are kept on this page: log in again and
        they are saved at once.
      </p>
      <form className="session-form" onSubmit={(event) => void submit(event)}>
        <label htmlFor="session-username">User name</label>
        <input
          id="session-username"
          autoComplete="username"
          required
          value={username}
          onChange={(event) => setUsername(event.target.value)}
        />
        <label htmlFor="session-password">Password</label>
        <input
          id="session-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <ErrorNotice error={error} />
        <div className="dialog-actions">
          {/* Logged in in another tab: send what was held again (a 401 brings this dialog back). */}
          <button type="button" onClick={markSessionRestored} title="If you logged in again in another tab">
            Retry
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {pending ? "Logging in…" : "Log in"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
