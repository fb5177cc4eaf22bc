// A websocket to one of the server's live routes that tells react-query what to refetch. The messages are hints,
// never data: on every open (the first connect and each reconnect) and after each message the caller's query-key
// prefixes are invalidated, so the screen refetches through the API, and a message lost while the socket was down
// never leaves it wrong. For instance:
//
//   useLiveUpdates("/ws/workspace/", [["workflows"]])                              // the workflow list
//   useLiveUpdates(`/ws/workflows/${id}/`, [["workflow-counters", id], ["analytics", id]])  // a canvas
//   useLiveUpdates(`/ws/executions/${id}/`, [["execution", id]])                    // an execution's page
//   useLiveUpdates("/ws/workspace/", [["executions"]])                             // the executions table
//
// Written here rather than taken from a library (react-use-websocket was the candidate): what is needed is one
// socket that reconnects with backoff, stops on the server's "not found" refusals and turns messages into
// invalidations, which is liveSocket.ts's eighty lines; the library's shared sockets, JSON state and heartbeat
// options would be a dependency to keep up for features no screen uses.
import { useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { socketUrl, throttle, type LiveStatus } from "./liveLogic";
import { keepLive, type LiveMessage } from "./liveSocket";

export type { LiveMessage } from "./liveSocket";

/** The prefixes to invalidate: the same for every message, or chosen per message (null: the socket opened). */
export type LiveKeys = readonly QueryKey[] | ((message: LiveMessage | null) => readonly QueryKey[]);

// Refetch at most once a second, however many messages arrive (the server sends up to four a second).
const REFETCH_INTERVAL_MS = 1_000;

/** Keep a socket open to `path` (none while null) and invalidate `keys` on each open and message. */
export function useLiveUpdates(path: string | null, keys: LiveKeys): LiveStatus {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("connecting");
  // The latest keys, without reconnecting when the caller passes a new array or function on each render.
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
    const live = keepLive(socketUrl(path), { onOpen: () => want(null), onMessage: want, onStatus: setStatus });
    const online = () => live.retryNow();
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("online", online);
      live.stop();
      refetch.cancel();
    };
  }, [path, queryClient]);

  return status;
}
