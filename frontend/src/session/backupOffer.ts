// Which local backup of a draft to offer back when the canvas opens, and what it changes, in words.
import type { GraphJson, GraphNodeJson } from "../api/types";
import type { DraftBackup } from "./draftBackup";

export interface ServerDraft {
  revision: number;
  /** The server's draft as the canvas writes it (toGraphJson of what it loaded), for an exact comparison. */
  graph: GraphJson;
}

/**
 * The backup worth offering, and those to drop: a backup based on an older revision than the server's is
 * superseded (the draft was saved since, here or elsewhere); one equal to the server's draft restores nothing;
 * of the rest, the newest is offered.
 */
export function weighBackups(backups: readonly DraftBackup[], server: ServerDraft):
  { offer: DraftBackup | null; discard: DraftBackup[] } {
  const serverText = JSON.stringify(server.graph);
  const candidates = backups
    .filter((backup) => backup.revision >= server.revision && JSON.stringify(backup.graph) !== serverText)
    .sort((a, b) => b.savedAt.getTime() - a.savedAt.getTime());
  const offer = candidates[0] ?? null;
  return { offer, discard: backups.filter((backup) => backup !== offer) };
}

/** What the backup changes against the server's draft, one phrase per kind of change, steps named. */
export function backupChanges(backup: GraphJson, server: GraphJson): string[] {
  const theirs = new Map((server.nodes ?? []).map((node) => [node.id, node]));
  const mine = new Map((backup.nodes ?? []).map((node) => [node.id, node]));
  const added = [...mine.values()].filter((node) => !theirs.has(node.id));
  const removed = [...theirs.values()].filter((node) => !mine.has(node.id));
  const changed = [...mine.values()].filter((node) => {
    const other = theirs.get(node.id);
    return other !== undefined && JSON.stringify(node) !== JSON.stringify(other);
  });
  const phrases = [
    phrase("added", added),
    phrase("removed", removed),
    phrase("changed", changed),
  ].filter((text): text is string => text !== null);
  if (JSON.stringify(backup.edges ?? []) !== JSON.stringify(server.edges ?? [])) phrases.push("connections changed");
  if (JSON.stringify(backup.notes ?? []) !== JSON.stringify(server.notes ?? [])) phrases.push("notes changed");
  return phrases;
}

function phrase(what: string, nodes: readonly GraphNodeJson[]): string | null {
  if (nodes.length === 0) return null;
  const names = nodes.map((node) => `“${node.data?.label || node.type}”`).join(", ");
  return `${what} ${nodes.length === 1 ? "step" : "steps"} ${names}`;
}
