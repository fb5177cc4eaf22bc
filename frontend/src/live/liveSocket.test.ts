import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LiveStatus } from "./liveLogic";
import { keepLive, type LiveMessage, type SocketLike } from "./liveSocket";

class FakeSocket implements SocketLike {
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  closedWith: number | null = null;
  close(code?: number) {
    this.closedWith = code ?? 1000;
  }
  serverCloses(code: number) {
    this.onclose?.({ code });
  }
  send(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

function setUp() {
  const sockets: FakeSocket[] = [];
  const statuses: LiveStatus[] = [];
  const opens: number[] = [];
  const messages: LiveMessage[] = [];
  const live = keepLive(
    "ws://host/ws/workspace/",
    { onOpen: () => opens.push(sockets.length), onMessage: (m) => messages.push(m), onStatus: (s) => statuses.push(s) },
    {
      open: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket;
      },
      random: () => 0.5, // no jitter: the delays are exact
    },
  );
  return { sockets, statuses, opens, messages, live };
}

describe("keepLive", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reports each open, passes messages on but not the hello, and skips what is not JSON", () => {
    const { sockets, statuses, opens, messages } = setUp();
    expect(statuses).toEqual(["connecting"]);
    sockets[0]!.onopen?.();
    sockets[0]!.send({ type: "hello", workspace: "w" });
    sockets[0]!.send({ type: "counts", workflows: {} });
    sockets[0]!.onmessage?.({ data: "not json" });
    expect(statuses).toEqual(["connecting", "live"]);
    expect(opens).toEqual([1]);
    expect(messages).toEqual([{ type: "counts", workflows: {} }]);
  });

  it("reconnects after a drop with a growing delay, and reports the open again", () => {
    const { sockets, statuses, opens } = setUp();
    sockets[0]!.onopen?.();
    sockets[0]!.serverCloses(1012);
    expect(statuses.at(-1)).toBe("reconnecting");
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]!.serverCloses(1006); // the server is still down
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    sockets[2]!.onopen?.();
    expect(statuses.at(-1)).toBe("live");
    expect(opens).toEqual([1, 3]);
  });

  it("starts the backoff over once a hello arrives", () => {
    const { sockets } = setUp();
    sockets[0]!.serverCloses(1006);
    vi.advanceTimersByTime(500);
    sockets[1]!.serverCloses(1006);
    vi.advanceTimersByTime(1000);
    sockets[2]!.onopen?.();
    sockets[2]!.send({ type: "hello" });
    sockets[2]!.serverCloses(1012);
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(4);
  });

  it("gives up on a not-found refusal and says so", () => {
    const { sockets, statuses } = setUp();
    sockets[0]!.serverCloses(4404);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
    expect(statuses.at(-1)).toBe("unavailable");
  });

  it("closes its socket on stop and never reconnects after", () => {
    const { sockets, live } = setUp();
    sockets[0]!.onopen?.();
    live.stop();
    expect(sockets[0]!.closedWith).toBe(1000);
    sockets[0]!.serverCloses(1000);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });

  it("tries at once when asked during a backoff", () => {
    const { sockets, live } = setUp();
    sockets[0]!.serverCloses(1006);
    live.retryNow();
    expect(sockets).toHaveLength(2);
  });
});
