// A refused list request (400) names each bad filter in `details`; the form shows each under its field, and the
// summary names the fields as the form labels them (never the API's parameter names).
import { ApiError } from "../api/client";
import { FILTER_NAMES, type FilterName } from "./filters";

export const FILTER_LABELS: Record<FilterName, string> = {
  q: "Search",
  workflow: "Workflow",
  version: "Version",
  status: "Status",
  node: "Step",
  error_type: "Error type",
  contact: "Contact",
  since: "Entered from",
  until: "Entered to",
};

export type FilterProblems = Partial<Record<FilterName, string>>;

/** What the server said of each filter, when it refused them (a 400); empty for any other outcome. */
export function filterProblems(error: unknown): FilterProblems {
  if (!(error instanceof ApiError) || error.status !== 400) return {};
  const problems: FilterProblems = {};
  for (const name of FILTER_NAMES) {
    const said = error.details[name];
    if (typeof said === "string") problems[name] = said;
  }
  return problems;
}

/** "Search: Search with at least 3 characters. Entered from: Must be …" */
export function problemsText(problems: FilterProblems): string {
  return FILTER_NAMES.flatMap((name) => (problems[name] ? [`${FILTER_LABELS[name]}: ${problems[name]}`] : [])).join(" ");
}
