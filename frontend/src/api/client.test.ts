import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isSessionEnded, markSessionRestored } from "../session/sessionState";
import { api, ApiError, csrfToken, errorText, fallbackError } from "./client";

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(body === undefined ? null : JSON.stringify(body), { status }));
}

beforeEach(() => vi.stubGlobal("document", { cookie: "csrftoken=t" }));
afterEach(() => vi.unstubAllGlobals());

describe("api", () => {
  it("sends the CSRF token from the cookie on writes only", async () => {
    const fetch = answer(200, { ok: true });
    vi.stubGlobal("fetch", fetch);
    vi.stubGlobal("document", { cookie: "sessionid=abc; csrftoken=tok%3D1" });
    await api("workflows", { method: "POST", body: { name: "x" } });
    await api("workflows");
    const [post, get] = fetch.mock.calls as unknown as [[string, RequestInit], [string, RequestInit]];
    expect((post[1].headers as Record<string, string>)["X-CSRFToken"]).toBe("tok=1");
    expect((get[1].headers as Record<string, string>)["X-CSRFToken"]).toBeUndefined();
  });

  it("raises the server's own error message, code and details", async () => {
    vi.stubGlobal("fetch", answer(409, { error: { code: "stale_revision", message: "Reload it.", details: { revision: 3 } } }));
    const error = await api("workflows/1/draft", { method: "PUT", body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: "stale_revision", message: "Reload it.", details: { revision: 3 } });
  });

  it("holds a request when the session has ended (401) and sends it again once the user has logged in", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: { code: "not_authenticated", message: "Bearer key", details: {} } }), { status: 401 }));
    vi.stubGlobal("fetch", fetch);
    const held = api<{ revision: number }>("workflows/1/draft", { method: "PUT", body: { revision: 1 } });
    await vi.waitFor(() => expect(isSessionEnded()).toBe(true));
    fetch.mockImplementation(async () => new Response(JSON.stringify({ revision: 2 }), { status: 200 }));
    markSessionRestored();
    await expect(held).resolves.toEqual({ revision: 2 });
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("says a bare 500 means the server failed", async () => {
    vi.stubGlobal("fetch", answer(500, undefined));
    await expect(api("workflows")).rejects.toThrow(/server failed \(HTTP 500\)/);
  });

  it("says a 401 means the session ended, in words, for whoever shows the reason", () => {
    expect(fallbackError(401).message).toMatch(/session has ended/);
  });

  it("says so in words when the server does not answer", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(api("workflows")).rejects.toThrow(/did not answer/);
  });
});

describe("errorText", () => {
  it("says the server's sentence, then what it said about each field", () => {
    const error = new ApiError(400, {
      code: "validation_error",
      message: "The request is not valid.",
      details: { name: ["Ensure this field has no more than 200 characters."], nested: { a: 1 } },
    });
    expect(errorText(error)).toBe("The request is not valid. name: Ensure this field has no more than 200 characters.");
  });
});

describe("csrfToken", () => {
  it("reads the token out of the cookie string, or nothing", () => {
    expect(csrfToken("a=1; csrftoken=xyz; b=2")).toBe("xyz");
    expect(csrfToken("a=1")).toBe("");
  });
});
