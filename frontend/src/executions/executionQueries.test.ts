import { describe, expect, it } from "vitest";
import { bulkBody, executionKeys, exportHref } from "./executionQueries";

describe("the executions' query keys (the live updates invalidate their prefixes)", () => {
  it("keys a page of the list by the filters object, with the cursor past the first page", () => {
    expect(executionKeys.list({ filters: { status: "failed" } })).toEqual(["executions", { status: "failed" }]);
    expect(executionKeys.list({ filters: { node: "c" }, cursor: "abc" })).toEqual(["executions", { node: "c", cursor: "abc" }]);
  });

  it("keys one execution by its id", () => {
    expect(executionKeys.one("e1")).toEqual(["execution", "e1"]);
  });
});

describe("bulk bodies and the export link", () => {
  const retry = { from: "start", version: "latest" } as const;

  it("sends the filters, the dry run and the retry's choices", () => {
    expect(bulkBody("retry", { workflow: "w1" }, retry, true)).toEqual({
      workflow: "w1", dry_run: true, from: "start", version: "latest",
    });
    expect(bulkBody("cancel", { workflow: "w1" }, retry, false)).toEqual({ workflow: "w1", dry_run: false });
  });

  it("lets a version filter take the body's `version` (the retry then runs on each one's own)", () => {
    expect(bulkBody("retry", { version: "3" }, retry, false)).toEqual({ version: "3", dry_run: false, from: "start" });
  });

  it("links the export with the filters, and without a query string when there are none", () => {
    expect(exportHref({ status: "failed", q: "ada" })).toBe("/api/v1/executions/export.csv?status=failed&q=ada");
    expect(exportHref({})).toBe("/api/v1/executions/export.csv");
  });
});
