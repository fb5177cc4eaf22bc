import { describe, expect, it } from "vitest";
import type { Workflow } from "../api/types";
import { countColumns, deletionLoss, visibleWorkflows } from "./listLogic";

function workflow(fields: Partial<Workflow> & { name: string }): Workflow {
  return {
    id: fields.name,
    description: "",
    status: "draft",
    published_version: null,
    draft: {
      graph: { nodes: [], edges: [] },
      settings: {
        reenrollment: { mode: "never", after: null },
        exit_conditions: [],
        on_exit_enroll: null,
        timezone: "UTC",
        max_steps_per_enrollment: 1000,
      },
      revision: 1,
    },
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    ...fields,
  };
}

const all = [
  workflow({ name: "Welcome", status: "active", updated_at: "2026-03-01T00:00:00Z" }),
  workflow({ name: "abandoned cart", status: "draft", description: "Win back", updated_at: "2026-05-01T00:00:00Z" }),
  workflow({ name: "Old newsletter", status: "archived", updated_at: "2026-04-01T00:00:00Z" }),
];

describe("visibleWorkflows", () => {
  it("searches names and descriptions without regard to case", () => {
    const names = visibleWorkflows(all, { search: "WIN", status: "all", sort: "name" }).map((w) => w.name);
    expect(names).toEqual(["abandoned cart"]);
  });

  it("filters by status", () => {
    const names = visibleWorkflows(all, { search: "", status: "archived", sort: "name" }).map((w) => w.name);
    expect(names).toEqual(["Old newsletter"]);
  });

  it("sorts by last edit, by name and by status", () => {
    const byUpdate = visibleWorkflows(all, { search: "", status: "all", sort: "updated" }).map((w) => w.name);
    expect(byUpdate).toEqual(["abandoned cart", "Old newsletter", "Welcome"]);
    const byName = visibleWorkflows(all, { search: "", status: "all", sort: "name" }).map((w) => w.name);
    expect(byName).toEqual(["abandoned cart", "Old newsletter", "Welcome"]);
    const byStatus = visibleWorkflows(all, { search: "", status: "all", sort: "status" }).map((w) => w.status);
    expect(byStatus).toEqual(["active", "draft", "archived"]);
  });
});

describe("deletionLoss", () => {
  it("names the draft, the versions and the finished enrollments", () => {
    const text = deletionLoss(all[0]!, {
      draftSteps: 3, publishedVersions: 2, finishedEnrollments: 41, liveEnrollments: 0,
    });
    expect(text).toBe(
      "Deleting “Welcome” removes its draft (3 steps), 2 published versions and the history of 41 finished " +
        "enrollments. This cannot be undone.",
    );
  });

  it("says the history goes too when the counts are not known yet", () => {
    const text = deletionLoss(all[1]!, {
      draftSteps: 1, publishedVersions: 0, finishedEnrollments: null, liveEnrollments: null,
    });
    expect(text).toContain("its draft (1 step) and the history of every contact who went through it");
  });
});

describe("countColumns", () => {
  it("counts active and waiting as in it now, and every ended enrollment as finished", () => {
    expect(countColumns({ active: 2, waiting: 3, completed: 5, exited: 7, failed: 11, cancelled: 13 })).toEqual({
      inNow: 5,
      finished: 36,
    });
  });
});
