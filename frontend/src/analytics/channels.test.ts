import { describe, expect, it } from "vitest";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { channelRows, channelTotals, MEASURES, type ChannelFigures } from "./channels";

function figures(values: Partial<ChannelFigures>): ChannelFigures {
  return { ...(Object.fromEntries(MEASURES.map((measure) => [measure, 0])) as ChannelFigures), ...values };
}

const graph = {
  nodes: [
    { id: "t", type: "trigger_manual", position: { x: 0, y: 0 }, data: { label: "Signed up", config: {} } },
    { id: "m", type: "send_message", position: { x: 0, y: 100 }, data: { label: "", config: {} } },
    { id: "e", type: "send_email", position: { x: 0, y: 200 }, data: { label: "Welcome email", config: {} } },
  ],
  edges: [
    { id: "t-m", source: "t", target: "m", sourceHandle: "default" },
    { id: "m-e", source: "m", target: "e", sourceHandle: "default" },
  ],
} as unknown as GraphJson;
const types = new Map([
  ["trigger_manual", { type: "trigger_manual", kind: "trigger", label: "Manual", branches: ["default"] }],
  ["send_message", { type: "send_message", kind: "action", label: "Send message", branches: ["default"] }],
  ["send_email", { type: "send_email", kind: "action", label: "Send email", branches: ["default"] }],
]) as unknown as Map<string, NodeTypeInfo>;

describe("channelRows", () => {
  it("lists each send step's channels in the graph's order, email before SMS before push", () => {
    const rows = channelRows(
      {
        totals: {},
        nodes: {
          e: { email: figures({ sent: 3 }) },
          gone: { push: figures({ failed: 1 }) },
          m: { push: figures({ sent: 1 }), sms: figures({ suppressed: 2 }), email: figures({ capped_skipped: 4 }) },
        },
      },
      graph,
      types,
    );
    expect(rows.map((row) => [row.nodeId, row.step, row.channel])).toEqual([
      ["m", "Send message", "email"],
      ["m", "Send message", "sms"],
      ["m", "Send message", "push"],
      ["e", "Welcome email", "email"],
      ["gone", "A step no longer in this version (gone)", "push"],
    ]);
    expect(rows[1]?.figures.suppressed).toBe(2);
  });

  it("orders the totals by channel", () => {
    const totals = channelTotals({ totals: { push: figures({}), email: figures({ sent: 1 }) }, nodes: {} });
    expect(totals.map((total) => total.channel)).toEqual(["email", "push"]);
  });
});
