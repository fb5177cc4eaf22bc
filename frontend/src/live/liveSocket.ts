// One live socket that keeps itself open: reconnects with backoff after a drop, gives up on the server's "not
// found" refusals, and reports each open, message and status change. Free of React so that its reconnect logic is
// tested with a fake socket and fake timers (liveSocket.test.ts); useLiveUpdates wraps it for the screens.
import { backoffMs, isPermanentClose, type LiveStatus } from "./liveLogic";

export interface LiveMessage {
  type: "hello" | "counts" | "execution";
  [field: string]: unknown;
}

export interface LiveHandlers {
  /** The socket opened (the first time or again): whatever happened meanwhile is unknown, refetch. */
  onOpen: () => void;
  /** A message other than the hello that follows each open. */
  onMessage: (message: LiveMessage) => void;
  onStatus: (status: LiveStatus) => void;
}

/** The part of the browser's WebSocket this uses (a test passes a fake). */
export interface SocketLike {
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  close: (code?: number) => void;
}

export interface LiveDeps {
  open: (url: string) => SocketLike;
  random?: () => number;
}

const browserDeps: LiveDeps = { open: (url) => new WebSocket(url) as unknown as SocketLike };

/** Open `url` and keep it open until the returned `stop` is called. */
export function keepLive(url: string, handlers: LiveHandlers, deps: LiveDeps = browserDeps) {
  let socket: SocketLike | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let failures = 0;
  let stopped = false;

  const open = () => {
    retry = null;
    handlers.onStatus(failures === 0 ? "connecting" : "reconnecting");
    const current = deps.open(url);
    socket = current;
    current.onopen = () => {
      handlers.onStatus("live");
      handlers.onOpen();
    };
    current.onmessage = (event) => {
      const message = parse(event.data);
      if (message === null) return;
      // A hello follows every open, already covered by onOpen; it also proves the server serves us, so the
      // backoff starts over (an open that the server closes at once keeps backing off).
      if (message.type === "hello") failures = 0;
      else handlers.onMessage(message);
    };
    current.onclose = (event) => {
      if (socket !== current) return;
      socket = null;
      if (stopped) return;
      if (isPermanentClose(event.code)) {
        handlers.onStatus("unavailable");
        return;
      }
      handlers.onStatus("reconnecting");
      retry = setTimeout(open, backoffMs(failures++, deps.random));
    };
  };

  open();
  return {
    /** Try now rather than at the end of a long backoff (the browser is back online). */
    retryNow() {
      if (retry === null || stopped) return;
      clearTimeout(retry);
      open();
    },
    stop() {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      socket?.close(1000);
      socket = null;
    },
  };
}

function parse(data: unknown): LiveMessage | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null && "type" in value ? (value as LiveMessage) : null;
  } catch {
    return null;
  }
}
