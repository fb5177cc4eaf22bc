import { describe, expect, it } from "vitest";
import {
  cursorOf,
  dayOfSince,
  dayOfUntil,
  hasFilters,
  listParamsFromSearch,
  searchOf,
  sinceOfDay,
  untilOfDay,
} from "./filters";

describe("the list's state in the query string", () => {
  it("reads every filter and the cursor, and leaves out unknown names and empty values", () => {
    const search = new URLSearchParams("workflow=w1&node=c&status=&colour=red&q=%20ada%20&cursor=abc");
    expect(listParamsFromSearch(search)).toEqual({ filters: { workflow: "w1", node: "c", q: "ada" }, cursor: "abc" });
  });

  it("has no cursor on the first page", () => {
    expect(listParamsFromSearch(new URLSearchParams("status=failed"))).toEqual({ filters: { status: "failed" } });
  });

  it("writes the filters in a fixed order, so a round trip gives the same string", () => {
    const written = searchOf({ filters: { q: "bob", workflow: "w1", error_type: "PortError" }, cursor: "xyz" });
    expect(written.toString()).toBe("workflow=w1&error_type=PortError&q=bob&cursor=xyz");
    expect(searchOf(listParamsFromSearch(written)).toString()).toBe(written.toString());
  });

  it("leaves out empty filters when writing", () => {
    expect(searchOf({ filters: { workflow: "", status: "failed" } }).toString()).toBe("status=failed");
  });

  it("keeps a value the server will refuse, so the server can say why", () => {
    expect(listParamsFromSearch(new URLSearchParams("since=yesterday")).filters).toEqual({ since: "yesterday" });
  });

  it("knows when any filter is set", () => {
    expect(hasFilters({})).toBe(false);
    expect(hasFilters({ node: "c" })).toBe(true);
  });
});

describe("the API's page links", () => {
  it("gives the cursor of a full URL", () => {
    expect(cursorOf("http://testserver/api/v1/executions?cursor=cD0yMDI2&status=failed")).toBe("cD0yMDI2");
  });

  it("gives nothing for no link or a link without a cursor", () => {
    expect(cursorOf(null)).toBeUndefined();
    expect(cursorOf("http://testserver/api/v1/executions?status=failed")).toBeUndefined();
  });
});

describe("the date range", () => {
  it("turns the first day into that day's start and the last day into the next day's start", () => {
    expect(new Date(sinceOfDay("2026-12-02")).getTime()).toBe(new Date(2026, 11, 2).getTime());
    expect(new Date(untilOfDay("2026-12-02")).getTime()).toBe(new Date(2026, 11, 3).getTime());
    expect(new Date(untilOfDay("2026-12-31")).getTime()).toBe(new Date(2027, 0, 1).getTime());
  });

  it("shows the days back from the moments (the last day inclusive)", () => {
    expect(dayOfSince(sinceOfDay("2026-12-02"))).toBe("2026-12-02");
    expect(dayOfUntil(untilOfDay("2026-12-02"))).toBe("2026-12-02");
  });

  it("gives nothing for no day or a value that is not a moment", () => {
    expect(sinceOfDay("")).toBe("");
    expect(untilOfDay("2 Dec")).toBe("");
    expect(dayOfSince("yesterday")).toBe("");
    expect(dayOfUntil(undefined)).toBe("");
  });
});
