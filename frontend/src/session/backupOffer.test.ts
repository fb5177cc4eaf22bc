import { describe, expect, it } from "vitest";
import type { GraphJson } from "../api/types";
import { backupChanges, weighBackups } from "./backupOffer";
import { draftBackupKey, type DraftBackup, readBackups } from "./draftBackup";

const step = (id: string, label: string, config: Record<string, unknown> = {}) =>
  ({ id, type: "add_tag", position: { x: 0, y: 0 }, data: { label, config } });
const SERVER: GraphJson = { nodes: [step("a", "Tag them", { tag: "vip" })], edges: [] };
const MINE: GraphJson = { nodes: [step("a", "Tag the VIPs", { tag: "vip" }), step("b", "Tag again")], edges: [] };

const backup = (revision: number, minutes: number, graph: GraphJson = MINE): DraftBackup =>
  ({ key: draftBackupKey("w1", revision), revision, savedAt: new Date(Date.UTC(2026, 0, 1, 10, minutes)), graph });

describe("which local backup of a draft is offered back", () => {
  it("offers the newest backup made on the server's revision, and drops the others", () => {
    const older = backup(3, 1);
    const newer = { ...backup(3, 5), key: "other" };
    const { offer, discard } = weighBackups([older, newer], { revision: 3, graph: SERVER });
    expect(offer).toBe(newer);
    expect(discard).toEqual([older]);
  });

  it("drops a backup the server's draft has moved past, or one that changes nothing", () => {
    const stale = backup(2, 9);
    const same = backup(3, 9, SERVER);
    expect(weighBackups([stale, same], { revision: 3, graph: SERVER })).toEqual({ offer: null, discard: [stale, same] });
  });

  it("says what the backup changes, naming the steps", () => {
    expect(backupChanges(MINE, SERVER)).toEqual(["added step “Tag again”", "changed step “Tag the VIPs”"]);
    expect(backupChanges({ nodes: [], edges: [] }, SERVER)).toEqual(["removed step “Tag them”"]);
  });
});

describe("reading backups back", () => {
  it("reads a workflow's backups with their revision and time, dropping unreadable ones", () => {
    const storage = new Map<string, string>([
      [draftBackupKey("w1", 4), JSON.stringify({ savedAt: "2026-01-01T10:05:00Z", graph: MINE })],
      [draftBackupKey("w1", 5), "{not json"],
      [draftBackupKey("w2", 4), JSON.stringify({ savedAt: "2026-01-01T10:05:00Z", graph: MINE })],
    ]);
    const fake = {
      get length() { return storage.size; },
      key: (index: number) => [...storage.keys()][index] ?? null,
      getItem: (key: string) => storage.get(key) ?? null,
      removeItem: (key: string) => void storage.delete(key),
    } as unknown as Storage;
    const found = readBackups("w1", fake);
    expect(found.map((one) => [one.revision, one.savedAt.toISOString()])).toEqual([[4, "2026-01-01T10:05:00.000Z"]]);
    expect(storage.has(draftBackupKey("w1", 5))).toBe(false);
    expect(storage.has(draftBackupKey("w2", 4))).toBe(true);
  });
});
