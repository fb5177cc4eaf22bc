import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { filterProblems, problemsText } from "./filterProblems";

const refused = (details: Record<string, unknown>, status = 400) =>
  new ApiError(status, { code: "invalid", message: "The filters are not valid.", details });

describe("a refused filter, in the form's words", () => {
  it("keeps what the server said of each filter it knows, by the form's names", () => {
    const problems = filterProblems(refused({ q: "Search with at least 3 characters.", since: "Must be ISO.", cursor: "Bad." }));
    expect(problems).toEqual({ q: "Search with at least 3 characters.", since: "Must be ISO." });
    expect(problemsText(problems)).toBe("Entered from: Must be ISO. Search: Search with at least 3 characters.");
  });

  it("is empty for anything but a 400", () => {
    expect(filterProblems(refused({ q: "x" }, 500))).toEqual({});
    expect(filterProblems(new Error("offline"))).toEqual({});
    expect(filterProblems(null)).toEqual({});
  });
});
