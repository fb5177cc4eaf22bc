import { describe, expect, it } from "vitest";
import type { NodeTypeInfo } from "../api/types";
import { uiSchemaFor, withoutNullOptions } from "../panel/schemaUi";
import { branchesOf } from "./graph";
// What GET /api/v1/node-types answers for the flow-control types (written from the registry's describe()).
import described from "./flowControlTypes.json";

const types = described as unknown as Record<"parallel" | "merge" | "for_each", NodeTypeInfo>;

describe("flow control nodes are drawn and edited from their descriptions", () => {
  it("gives a parallel one exit per branch of its config, labelled", () => {
    const config = { branches: [{ id: "email", label: "Email" }, { id: "sms" }, { id: "crm" }] };
    expect(branchesOf(types.parallel, config)).toEqual([
      { id: "email", label: "Email" },
      { id: "sms", label: "sms" },
      { id: "crm", label: "crm" },
    ]);
  });

  it("gives a merge its default and timeout exits and a for_each its item and done exits", () => {
    expect(branchesOf(types.merge, { mode: "all" })).toEqual([
      { id: "default", label: "" },
      { id: "timeout", label: "timeout" },
    ]);
    expect(branchesOf(types.for_each, { items: "event.properties.items", limit: 10 }).map((b) => b.id)).toEqual([
      "item",
      "done",
    ]);
  });

  it("edits a merge's optional timeout with the duration widget", () => {
    const schema = withoutNullOptions(types.merge.config_schema as Record<string, unknown>);
    expect(uiSchemaFor(schema)).toMatchObject({ timeout: { "ui:widget": "duration" } });
  });
});
