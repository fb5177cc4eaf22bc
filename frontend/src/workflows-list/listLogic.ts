import type { EnrollmentCounts, Workflow, WorkflowStatus } from "../api/types";

export type SortKey = "updated" | "created" | "name" | "status";

export const SORT_LABELS: Record<SortKey, string> = {
  updated: "Last edited",
  created: "Newest first",
  name: "Name (A to Z)",
  status: "Status",
};

export const STATUS_LABELS: Record<WorkflowStatus, string> = {
  draft: "Draft",
  active: "Active",
  paused: "Paused",
  archived: "Archived",
};

// Active first: the ones contacts are in right now.
const STATUS_ORDER: WorkflowStatus[] = ["active", "paused", "draft", "archived"];

export interface ListQuery {
  search: string;
  status: WorkflowStatus | "all";
  sort: SortKey;
}

/** Filter and sort the loaded workflows as the list page shows them. */
export function visibleWorkflows<W extends Workflow>(workflows: readonly W[], query: ListQuery): W[] {
  const needle = query.search.trim().toLocaleLowerCase();
  const matching = workflows.filter(
    (workflow) =>
      (query.status === "all" || workflow.status === query.status) &&
      (!needle ||
        workflow.name.toLocaleLowerCase().includes(needle) ||
        workflow.description.toLocaleLowerCase().includes(needle)),
  );
  return [...matching].sort(comparator(query.sort));
}

function comparator(sort: SortKey): (a: Workflow, b: Workflow) => number {
  switch (sort) {
    case "updated":
      return (a, b) => b.updated_at.localeCompare(a.updated_at);
    case "created":
      return (a, b) => b.created_at.localeCompare(a.created_at);
    case "name":
      return (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
    case "status":
      return (a, b) =>
        STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) || a.name.localeCompare(b.name);
  }
}

export interface LossSummary {
  draftSteps: number;
  publishedVersions: number;
  finishedEnrollments: number | null;
  liveEnrollments: number | null;
}

/** Say in one sentence what deleting a workflow throws away (counts unknown yet: said so). */
export function deletionLoss(workflow: Workflow, counts: LossSummary): string {
  const parts = [`its draft (${plural(counts.draftSteps, "step")})`];
  if (counts.publishedVersions > 0) parts.push(`${plural(counts.publishedVersions, "published version")}`);
  if (counts.finishedEnrollments === null) parts.push("the history of every contact who went through it");
  else if (counts.finishedEnrollments > 0)
    parts.push(`the history of ${plural(counts.finishedEnrollments, "finished enrollment")}`);
  return `Deleting “${workflow.name}” removes ${joinWords(parts)}. This cannot be undone.`;
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function joinWords(parts: string[]): string {
  if (parts.length < 2) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/** The list's two count columns: contacts in the workflow now, and enrollments that have ended (any way). */
export function countColumns(counts: EnrollmentCounts): { inNow: number; finished: number } {
  return {
    inNow: counts.active + counts.waiting,
    finished: counts.completed + counts.exited + counts.failed + counts.cancelled,
  };
}
