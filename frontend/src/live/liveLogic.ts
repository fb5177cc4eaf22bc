// The pure parts of the live layer (tested without a socket): how long to wait before reconnecting, which close
// codes mean "do not try again", and the socket's address on this page's origin.

/** Reconnect delay after `attempt` failures in a row: 0.5 s doubling to 30 s, with ±20 % jitter so that many tabs
 * a restarted server dropped do not all come back in the same instant. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}

// The server's refusals at the handshake (workflows/consumers.py). A missing or foreign object will not appear by
// retrying; an ended session is retried slowly (the session dialog logs the user in again on the page).
export const CLOSE_NOT_LOGGED_IN = 4401;
const PERMANENT_CLOSES = new Set([4403, 4404]);

export function isPermanentClose(code: number): boolean {
  return PERMANENT_CLOSES.has(code);
}

/** `ws://` or `wss://` on the page's own host: the sockets are same-origin (the server checks the Origin). */
export function socketUrl(path: string, location: { protocol: string; host: string } = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

export type LiveStatus = "connecting" | "live" | "reconnecting" | "unavailable";

export const STATUS_WORDS: Record<LiveStatus, { short: string; label: string }> = {
  connecting: { short: "Connecting…", label: "Live updates: connecting" },
  live: { short: "Live", label: "Live updates: on. This page refreshes itself when something changes." },
  reconnecting: {
    short: "Reconnecting…",
    label: "Live updates: reconnecting. The page refreshes itself once the connection is back.",
  },
  unavailable: {
    short: "Not live",
    label: "Live updates are not available for this page. Reload the page to see the latest.",
  },
};

/**
 * Call `run` at once, then at most once per `intervalMs` while calls keep coming, and once more after the last
 * one (leading and trailing): every message is followed by a refetch that starts after it, but a burst of
 * messages costs one refetch a second, not four.
 */
export function throttle(run: () => void, intervalMs: number) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending = false;
  const fire = () => {
    if (!pending) {
      timer = null;
      return;
    }
    pending = false;
    run();
    timer = setTimeout(fire, intervalMs);
  };
  return {
    call() {
      pending = true;
      if (timer === null) fire();
    },
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      pending = false;
    },
  };
}

// While a screen's socket is live, its messages bring changes; a slow poll still covers what a socket does not say
// (a workflow a teammate created, a publish meanwhile).
export const LIVE_POLL_MS = 60_000;

/** How often a screen that also listens live should poll: slowly while its socket is live, else `downMs`. */
export function pollMs(status: LiveStatus, downMs: number): number {
  return status === "live" ? LIVE_POLL_MS : downMs;
}
