// A graph diff in words, for the publish summary and the list beside the diff view. Step and field names come
// from /node-types (a type's label, a config field's schema title): nothing here is written per node type.
import type { GraphNodeJson, NodeTypeInfo } from "../api/types";
import { changeCount, type FieldChange, type GraphDiff } from "./graphDiff";

export type NodeTypeLookup = ReadonlyMap<string, NodeTypeInfo>;

/** How the user knows a step: its type's label, and its own label when it has one (`Send email “Welcome”`). */
export function stepName(node: GraphNodeJson, types: NodeTypeLookup): string {
  const typeLabel = types.get(node.type)?.label ?? node.type;
  const label = node.data?.label?.trim();
  return label && label !== typeLabel ? `${typeLabel} “${label}”` : typeLabel;
}

/** A field's name as the settings form shows it: the config schema's title, else its key in words. */
export function fieldName(path: string, type: string | undefined, types: NodeTypeLookup): string {
  if (path === "label") return "name";
  if (path === "type") return "step type";
  const parts = path.replace(/^config\./, "").split(".");
  const schema = type ? types.get(type)?.config_schema : undefined;
  const top = parts[0] ?? path;
  const title = titleIn(schema, top);
  const rest = parts.slice(1).map((part) => (/^\d+$/.test(part) ? `#${Number(part) + 1}` : words(part)));
  return [title ?? words(top), ...rest].join(" ");
}

function titleIn(schema: unknown, key: string): string | undefined {
  if (typeof schema !== "object" || schema === null) return undefined;
  const properties = (schema as { properties?: Record<string, { title?: unknown }> }).properties;
  const title = properties?.[key]?.title;
  return typeof title === "string" ? title.toLowerCase() : undefined;
}

function words(key: string): string {
  return key.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/** A value as the list shows it: text in quotes, anything else as JSON, cut to a readable length. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null || value === "") return "(not set)";
  const text = typeof value === "string" ? `“${value}”` : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function listInWords(items: string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function fieldsInWords(fields: FieldChange[], type: string | undefined, types: NodeTypeLookup): string {
  const names = [...new Set(fields.map((field) => fieldName(field.path, type, types)))];
  return `${listInWords(names)} changed`;
}

/** The headline: `2 steps added, 1 changed: Send email “Welcome” template changed`. */
export function headline(diff: GraphDiff, types: NodeTypeLookup): string {
  if (changeCount(diff) === 0) {
    return diff.movedNodes.length > 0
      ? `No changes for contacts; ${plural(diff.movedNodes.length, "step")} moved on the canvas.`
      : "No changes.";
  }
  const counts = (
    [
      [diff.addedNodes.length, "added"],
      [diff.removedNodes.length, "removed"],
      [diff.changedNodes.length, "changed"],
    ] as const
  )
    .filter(([count]) => count > 0)
    // The noun once, on the first count: "2 steps added, 1 changed".
    .map(([count, verb], index) => `${index === 0 ? plural(count, "step") : count} ${verb}`);
  const first = diff.changedNodes[0];
  const detail = first
    ? `: ${stepName(first.after, types)} ${fieldsInWords(first.fields, first.after.type, types)}`
    : "";
  return counts.length > 0 ? `${counts.join(", ")}${detail}.` : `${summaryLines(diff, types)[0] ?? ""}`;
}

/** Every change, one sentence each, in the order the list shows them. */
export function summaryLines(diff: GraphDiff, types: NodeTypeLookup): string[] {
  const lines: string[] = [];
  for (const node of diff.addedNodes) lines.push(`Added ${stepName(node, types)}.`);
  for (const node of diff.removedNodes) lines.push(`Removed ${stepName(node, types)}.`);
  for (const change of diff.changedNodes) {
    lines.push(`${stepName(change.after, types)}: ${fieldsInWords(change.fields, change.after.type, types)}.`);
  }
  const connections = [
    diff.addedEdges.length && `${plural(diff.addedEdges.length, "connection")} added`,
    diff.removedEdges.length && `${plural(diff.removedEdges.length, "connection")} removed`,
    diff.rebranchedEdges.length && `${plural(diff.rebranchedEdges.length, "connection")} moved to another branch`,
  ].filter(Boolean) as string[];
  if (connections.length > 0) lines.push(`${connections.join(", ")}.`);
  if (diff.settings.length > 0) {
    lines.push(`Settings: ${fieldsInWords(diff.settings, undefined, types)}.`);
  }
  if (diff.movedNodes.length > 0) {
    lines.push(`${plural(diff.movedNodes.length, "step")} moved on the canvas (no effect on contacts).`);
  }
  return lines;
}
