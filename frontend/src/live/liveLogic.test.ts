import { afterEach, describe, expect, it, vi } from "vitest";
import { backoffMs, isPermanentClose, socketUrl, throttle } from "./liveLogic";

describe("backoffMs", () => {
  it("doubles from half a second up to thirty, within the jitter", () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 3].map((attempt) => backoffMs(attempt, middle))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffMs(20, middle)).toBe(30_000);
    expect(backoffMs(0, () => 0)).toBe(400);
    expect(backoffMs(0, () => 1)).toBe(600);
  });
});

describe("close codes", () => {
  it("gives up on not-found and no-workspace refusals only", () => {
    expect([4403, 4404].map(isPermanentClose)).toEqual([true, true]);
    expect([1000, 1006, 1012, 4401].map(isPermanentClose)).toEqual([false, false, false, false]);
  });
});

describe("socketUrl", () => {
  it("uses the page's host and wss on https", () => {
    expect(socketUrl("/ws/workspace/", { protocol: "http:", host: "127.0.0.1:8000" })).toBe(
      "ws://127.0.0.1:8000/ws/workspace/",
    );
    expect(socketUrl("/ws/workspace/", { protocol: "https:", host: "pf.example" })).toBe("wss://pf.example/ws/workspace/");
  });
});

describe("throttle", () => {
  afterEach(() => vi.useRealTimers());

  it("runs at once, then once per interval for a burst, ending after the last call", () => {
    vi.useFakeTimers();
    const run = vi.fn();
    const throttled = throttle(run, 1000);
    throttled.call();
    expect(run).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 10; i++) throttled.call();
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(5000);
    expect(run).toHaveBeenCalledTimes(2);
    throttled.call();
    expect(run).toHaveBeenCalledTimes(3);
  });

  it("runs nothing more once cancelled", () => {
    vi.useFakeTimers();
    const run = vi.fn();
    const throttled = throttle(run, 1000);
    throttled.call();
    throttled.call();
    throttled.cancel();
    vi.advanceTimersByTime(5000);
    expect(run).toHaveBeenCalledTimes(1);
  });
});
