// What became of the messages of each send step, per channel: sent, delivered, engaged, failed, and those that
// consent, frequency caps or quiet hours stopped or put off (CONTRACT §13). Pure: the page and its tests share it.
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { graphOrder, stepName } from "./funnel";

export const MEASURES = [
  "sent", "delivered", "engaged", "failed", "suppressed",
  "capped_deferred", "capped_skipped", "quiet_deferred", "quiet_skipped",
] as const;
export type Measure = (typeof MEASURES)[number];
export type ChannelFigures = Record<Measure, number>;

export interface ChannelAnalytics {
  totals: Record<string, ChannelFigures>;
  nodes: Record<string, Record<string, ChannelFigures>>;
}

export const MEASURE_LABELS: Record<Measure, string> = {
  sent: "Sent",
  delivered: "Delivered",
  engaged: "Engaged",
  failed: "Failed",
  suppressed: "Suppressed by consent",
  capped_deferred: "Deferred by caps",
  capped_skipped: "Skipped by caps",
  quiet_deferred: "Deferred by quiet hours",
  quiet_skipped: "Skipped by quiet hours",
};

const CHANNEL_LABELS: Record<string, string> = { email: "Email", sms: "SMS", push: "Push" };
const CHANNEL_ORDER = ["email", "sms", "push"];

export function channelLabel(channel: string): string {
  return CHANNEL_LABELS[channel] ?? channel;
}

export interface ChannelRow {
  nodeId: string;
  step: string;
  channel: string;
  figures: ChannelFigures;
}

function byChannel(a: string, b: string): number {
  const rank = (channel: string) => (CHANNEL_ORDER.includes(channel) ? CHANNEL_ORDER.indexOf(channel) : CHANNEL_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** One row per send step and channel, steps in the graph's order (steps no longer in it last, by id). */
export function channelRows(channels: ChannelAnalytics, graph: GraphJson, types: ReadonlyMap<string, NodeTypeInfo>): ChannelRow[] {
  const order = new Map(graphOrder(graph, types).map((entry, index) => [entry.id, index]));
  const nodes = new Map((graph.nodes ?? []).map((node) => [node.id, node]));
  const position = (nodeId: string) => order.get(nodeId) ?? Number.MAX_SAFE_INTEGER;
  const steps = Object.entries(channels.nodes).sort(
    ([a], [b]) => position(a) - position(b) || a.localeCompare(b),
  );
  return steps.flatMap(([nodeId, byChannelFigures]) => {
    const node = nodes.get(nodeId);
    const step = node ? stepName(node, types.get(node.type)) : `A step no longer in this version (${nodeId})`;
    return Object.entries(byChannelFigures)
      .sort(([a], [b]) => byChannel(a, b))
      .map(([channel, figures]) => ({ nodeId, step, channel, figures }));
  });
}

/** The channels' totals, in the order email, SMS, push. */
export function channelTotals(channels: ChannelAnalytics): { channel: string; figures: ChannelFigures }[] {
  return Object.entries(channels.totals)
    .sort(([a], [b]) => byChannel(a, b))
    .map(([channel, figures]) => ({ channel, figures }));
}
