import { describe, expect, it } from "vitest";
import type { GraphEdgeJson, GraphNodeJson, NodeTypeInfo } from "../api/types";
import { fieldName, formatValue, headline, summaryLines } from "./describeDiff";
import { diffGraphs, fieldChanges, hasAnyDifference, hasChanges, type Snapshot } from "./graphDiff";
import { diffCanvas } from "./diffCanvas";

function step(id: string, type: string, config: Record<string, unknown> = {}, label = "", x = 0, y = 0): GraphNodeJson {
  return { id, type, position: { x, y }, data: { label, config } };
}

function link(source: string, target: string, branch = "default", id = `${source}-${target}`): GraphEdgeJson {
  return { id, source, target, sourceHandle: branch };
}

const BASE: Snapshot = {
  graph: {
    nodes: [
      step("t", "trigger_event", { event: "contact.created" }, "Signed up"),
      step("c", "condition", { rule: { "==": [1, 1] } }, "", 0, 100),
      step("m", "send_email", { template_id: "welcome", track_opens: true }, "Welcome", 0, 200),
      step("d", "delay", { duration: "P1D" }, "", 200, 200),
    ],
    edges: [link("t", "c"), link("c", "m", "yes"), link("c", "d", "no")],
  },
  settings: { reenrollment: { mode: "never" }, timezone: "UTC" },
};

function edited(change: (snapshot: Snapshot) => void): Snapshot {
  const copy = structuredClone(BASE);
  change(copy);
  return copy;
}

const TYPES = new Map<string, NodeTypeInfo>(
  [
    ["trigger_event", "Event"],
    ["condition", "Condition"],
    ["send_email", "Send email"],
    ["delay", "Delay"],
    ["add_tag", "Add tag"],
  ].map(([type, label]) => [
    type!,
    {
      type: type!,
      label: label!,
      kind: "action",
      description: "",
      branches: ["default"],
      config_schema: type === "send_email" ? { properties: { template_id: { title: "Template" } } } : {},
    } as unknown as NodeTypeInfo,
  ]),
);

describe("diffGraphs", () => {
  it("finds no change between two identical versions", () => {
    const diff = diffGraphs(BASE, structuredClone(BASE));
    expect(hasChanges(diff)).toBe(false);
    expect(hasAnyDifference(diff)).toBe(false);
    expect(headline(diff, TYPES)).toBe("No changes.");
    expect(summaryLines(diff, TYPES)).toEqual([]);
  });

  it("ignores the order of keys, and connections that only got a new id", () => {
    const after = edited((s) => {
      s.graph.nodes![2]!.data = { config: { track_opens: true, template_id: "welcome" }, label: "Welcome" };
      s.graph.edges = s.graph.edges!.map((edge) => ({ ...edge, id: `new-${edge.id}` })).reverse();
    });
    expect(hasAnyDifference(diffGraphs(BASE, after))).toBe(false);
  });

  it("reports added and removed steps and their connections", () => {
    const after = edited((s) => {
      s.graph.nodes = s.graph.nodes!.filter((node) => node.id !== "d");
      s.graph.edges = s.graph.edges!.filter((edge) => edge.target !== "d");
      s.graph.nodes.push(step("tag", "add_tag", { tag: "vip" }, "Mark VIP"));
      s.graph.edges.push(link("m", "tag"));
    });
    const diff = diffGraphs(BASE, after);
    expect(diff.addedNodes.map((node) => node.id)).toEqual(["tag"]);
    expect(diff.removedNodes.map((node) => node.id)).toEqual(["d"]);
    expect(diff.addedEdges.map((edge) => edge.id)).toEqual(["m-tag"]);
    expect(diff.removedEdges.map((edge) => edge.id)).toEqual(["c-d"]);
    expect(diff.changedNodes).toEqual([]);
    expect(headline(diff, TYPES)).toBe("1 step added, 1 removed.");
    expect(summaryLines(diff, TYPES)).toEqual([
      "Added Add tag “Mark VIP”.",
      "Removed Delay.",
      "1 connection added, 1 connection removed.",
    ]);
  });

  it("reports a changed config field by field, with the schema's title", () => {
    const after = edited((s) => {
      s.graph.nodes![2]!.data!.config = { template_id: "welcome-v2", track_opens: true };
    });
    const diff = diffGraphs(BASE, after);
    expect(diff.changedNodes).toHaveLength(1);
    expect(diff.changedNodes[0]!.fields).toEqual([
      { path: "config.template_id", before: "welcome", after: "welcome-v2" },
    ]);
    expect(headline(diff, TYPES)).toBe("1 step changed: Send email “Welcome” template changed.");
  });

  it("reports label and type changes, and nested rule changes by path", () => {
    const after = edited((s) => {
      s.graph.nodes![0]!.data!.label = "Registered";
      s.graph.nodes![1]!.data!.config = { rule: { "==": [1, 2] } };
      s.graph.nodes![3]!.type = "add_tag";
    });
    const changes = Object.fromEntries(diffGraphs(BASE, after).changedNodes.map((c) => [c.id, c.fields]));
    expect(changes.t).toEqual([{ path: "label", before: "Signed up", after: "Registered" }]);
    expect(changes.c).toEqual([{ path: "config.rule.==", before: [1, 1], after: [1, 2] }]);
    expect(changes.d![0]).toEqual({ path: "type", before: "delay", after: "add_tag" });
  });

  it("reports steps moved on the canvas apart, not as changes", () => {
    const after = edited((s) => {
      s.graph.nodes![3]!.position = { x: 500, y: 600 };
      s.graph.nodes![0]!.position = { x: 0.2, y: -0.3 }; // rounding noise is no move
    });
    const diff = diffGraphs(BASE, after);
    expect(diff.movedNodes).toEqual([{ id: "d", before: { x: 200, y: 200 }, after: { x: 500, y: 600 } }]);
    expect(diff.changedNodes).toEqual([]);
    expect(hasChanges(diff)).toBe(false);
    expect(hasAnyDifference(diff)).toBe(true);
    expect(headline(diff, TYPES)).toBe("No changes for contacts; 1 step moved on the canvas.");
  });

  it("reports a step both moved and edited as changed only", () => {
    const after = edited((s) => {
      s.graph.nodes![3]!.position = { x: 900, y: 900 };
      s.graph.nodes![3]!.data!.config = { duration: "P2D" };
    });
    const diff = diffGraphs(BASE, after);
    expect(diff.changedNodes.map((c) => c.id)).toEqual(["d"]);
    expect(diff.movedNodes).toEqual([]);
  });

  it("reports a connection moved to another branch of the same steps as rebranched", () => {
    const after = edited((s) => {
      s.graph.edges = [link("t", "c"), link("c", "m", "no", "other-id"), link("c", "d", "yes")];
    });
    const diff = diffGraphs(BASE, after);
    expect(diff.rebranchedEdges.map((r) => [r.before.sourceHandle, r.after.sourceHandle])).toEqual([
      ["yes", "no"],
      ["no", "yes"],
    ]);
    expect(diff.addedEdges).toEqual([]);
    expect(diff.removedEdges).toEqual([]);
    expect(summaryLines(diff, TYPES)).toEqual(["2 connections moved to another branch."]);
  });

  it("treats a missing sourceHandle as the default branch", () => {
    const after = edited((s) => {
      s.graph.edges![0] = { id: "t-c", source: "t", target: "c" };
    });
    expect(hasAnyDifference(diffGraphs(BASE, after))).toBe(false);
  });

  it("reports settings changes by path", () => {
    const after = edited((s) => {
      s.settings = { reenrollment: { mode: "after", after: "P30D" }, timezone: "UTC" };
    });
    const diff = diffGraphs(BASE, after);
    expect(diff.settings).toEqual([
      { path: "reenrollment.after", before: undefined, after: "P30D" },
      { path: "reenrollment.mode", before: "never", after: "after" },
    ]);
    expect(summaryLines(diff, TYPES)).toEqual(["Settings: reenrollment after and reenrollment mode changed."]);
  });
});

describe("fieldChanges", () => {
  it("walks lists of objects item by item and compares other lists whole", () => {
    expect(
      fieldChanges(
        { cases: [{ id: "a", label: "A" }, { id: "b", label: "B" }], days: ["mon"] },
        { cases: [{ id: "a", label: "A!" }], days: ["mon", "tue"] },
      ),
    ).toEqual([
      { path: "cases.0.label", before: "A", after: "A!" },
      { path: "cases.1", before: { id: "b", label: "B" }, after: undefined },
      { path: "days", before: ["mon"], after: ["mon", "tue"] },
    ]);
  });
});

describe("diffCanvas", () => {
  it("draws the newer graph with removed steps and connections as ghosts, each marked", () => {
    const after = edited((s) => {
      s.graph.nodes = s.graph.nodes!.filter((node) => node.id !== "d");
      s.graph.edges = s.graph.edges!.filter((edge) => edge.target !== "d");
      s.graph.nodes.push(step("tag", "add_tag", { tag: "vip" }));
      s.graph.edges.push(link("m", "tag"));
      s.graph.nodes[2]!.data!.label = "Hello";
      s.graph.nodes[0]!.position = { x: 40, y: 0 };
    });
    const { nodes, edges } = diffCanvas(BASE, after);
    expect(Object.fromEntries(nodes.map((node) => [node.id, node.status]))).toEqual({
      t: "moved",
      c: "same",
      m: "changed",
      tag: "added",
      d: "removed",
    });
    expect(Object.fromEntries(edges.map((edge) => [`${edge.source}-${edge.target}`, edge.status]))).toEqual({
      "t-c": "same",
      "c-m": "same",
      "m-tag": "added",
      "c-d": "removed",
    });
  });
});

describe("the words of a diff", () => {
  it("names fields by their schema title, else their path in words, and says an unset value", () => {
    expect(fieldName("config.template_id", "send_email", TYPES)).toBe("template");
    expect(fieldName("config.window.days", "send_email", TYPES)).toBe("window days");
    expect(fieldName("config.cases.0.rule", "switch", TYPES)).toBe("cases #1 rule");
    expect(fieldName("label", "send_email", TYPES)).toBe("name");
    expect(formatValue(undefined)).toBe("(not set)");
    expect(formatValue("P1D")).toBe("“P1D”");
    expect(formatValue({ "==": [1, 2] })).toBe('{"==":[1,2]}');
  });
});
