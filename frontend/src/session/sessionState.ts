// Whether the browser's session has ended (the API answered 401), and who waits for it to come back. The API
// client holds its requests here while the session is gone and sends them again once the user has logged in
// through the session dialog, so an edit made at that moment is saved, not lost.

type Listener = () => void;

let ended = false;
let waiting: Array<() => void> = [];
const listeners = new Set<Listener>();

export function isSessionEnded(): boolean {
  return ended;
}

export function subscribeSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const listener of [...listeners]) listener();
}

export function markSessionEnded(): void {
  if (ended) return;
  ended = true;
  notify();
}

/** The user has logged in again: release every held request (they are sent again), then tell the screens. */
export function markSessionRestored(): void {
  if (!ended) return;
  ended = false;
  const released = waiting;
  waiting = [];
  for (const resume of released) resume();
  notify();
}

/** Resolve at once while the session lasts; after it ended, once the user has logged in again. */
export function untilSessionRestored(): Promise<void> {
  if (!ended) return Promise.resolve();
  return new Promise((resolve) => waiting.push(resolve));
}
