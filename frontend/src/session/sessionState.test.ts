import { afterEach, describe, expect, it } from "vitest";
import { isSessionEnded, markSessionEnded, markSessionRestored, subscribeSession, untilSessionRestored } from "./sessionState";

afterEach(() => markSessionRestored());

describe("sessionState", () => {
  it("lets requests through while the session lasts", async () => {
    await expect(untilSessionRestored()).resolves.toBeUndefined();
  });

  it("holds requests after the session ended and releases them once restored", async () => {
    const seen: boolean[] = [];
    const stop = subscribeSession(() => seen.push(isSessionEnded()));
    markSessionEnded();
    markSessionEnded(); // said once only
    let released = false;
    const held = untilSessionRestored().then(() => {
      released = true;
    });
    await Promise.resolve();
    expect(released).toBe(false);
    markSessionRestored();
    await held;
    expect(released).toBe(true);
    expect(seen).toEqual([true, false]);
    stop();
  });
});
