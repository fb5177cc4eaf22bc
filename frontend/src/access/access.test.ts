import { describe, expect, it } from "vitest";
import { roleCanEdit } from "./access";

describe("roleCanEdit", () => {
  it("lets editors, admins and owners edit", () => {
    expect(["editor", "admin", "owner"].map(roleCanEdit)).toEqual([true, true, true]);
  });

  it("keeps viewers, unknown roles and a role not yet known read-only", () => {
    expect([roleCanEdit("viewer"), roleCanEdit("superuser"), roleCanEdit(null), roleCanEdit(undefined)]).toEqual(
      [false, false, false, false],
    );
  });
});
