// A websocket to one of the server's live routes (/ws/workflows/{id}/, /ws/executions/{id}/, /ws/workspace/)
// that tells react-query what to refetch. The messages are hints, never data: on every open (the first connect
// and each reconnect) and after each message the caller's query-key prefixes are invalidated, so the screen
// refetches through the API, and a message lost while the socket was down never leaves it wrong.
//
// Written here rather than taken from a library (react-use-websocket was the candidate): what is needed is one
// socket, reconnecting with backoff, that stops on the server's "not found" refusals and turns messages into
// invalidations. That is these fifty lines; the library's shared sockets, JSON state and heartbeat options would
// be a dependency to keep up for features no screen uses.
import { useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { backoffMs, isPermanentClose, socketUrl, throttle, type LiveStatus } from "./liveLogic";

export interface LiveMessage {
  type: "hello" | "counts" | "execution";
  [field: string]: unknown;
}

/** The prefixes to invalidate: the same for every message, or chosen per message (null: the socket opened). */
export type LiveKeys = readonly QueryKey[] | ((message: LiveMessage | null) => readonly QueryKey[]);

// Refetch at most once a second, however many messages arrive (the server sends up to four a second).
const REFETCH_INTERVAL_MS = 1_000;

/** Keep a socket open to `path` (none while null) and invalidate `keys` on each open and message. */
export function useLiveUpdates(path: string | null, keys: LiveKeys): LiveStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("connecting");
  // The latest keys without reconnecting when the caller passes a new array or function on each render.
  const keysRef = useRef(keys);
  keysRef.current = keys;

  useEffect(() => {
    if (path === null) return;
    const pending = new Map<string, QueryKey>();
    const refetch = throttle(() => {
      for (const key of pending.values()) void queryClient.invalidateQueries({ queryKey: key });
      pending.clear();
    }, REFETCH_INTERVAL_MS);
    const want = (message: LiveMessage | null) => {
      const current = keysRef.current;
      for (const key of typeof current === "function" ? current(message) : current) pending.set(JSON.stringify(key), key);
      refetch.call();
    };
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let failures = 0;
    let stopped = false;

    const open = () => {
      retry = null;
      socket = new WebSocket(socketUrl(path));
      socket.onopen = () => {
        setStatus("live");
        want(null);
      };
      socket.onmessage = (event: MessageEvent<string>) => {
        const message = parse(event.data);
        if (message === null) return;
        // A hello follows every open, already covered by the open's refetch; it also proves the server serves
        // us, so the backoff starts over.
        if (message.type === "hello") failures = 0;
        else want(message);
      };
      socket.onclose = (event) => {
        socket = null;
        if (stopped) return;
        if (isPermanentClose(event.code)) {
          setStatus("unavailable");
          return;
        }
        setStatus("reconnecting");
        retry = setTimeout(open, backoffMs(failures++));
      };
    };
    // Back on the network: try now rather than at the end of a long backoff.
    const online = () => {
      if (retry === null) return;
      clearTimeout(retry);
      open();
    };
    window.addEventListener("online", online);
    open();
    return () => {
      stopped = true;
      window.removeEventListener("online", online);
      if (retry !== null) clearTimeout(retry);
      refetch.cancel();
      socket?.close(1000);
    };
  }, [path, queryClient]);

  return status;
}

function parse(data: string): LiveMessage | null {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null && "type" in value ? (value as LiveMessage) : null;
  } catch {
    return null;
  }
}
