import { describe, expect, it } from "vitest";
import { SHORTCUTS, shortcutsFor } from "./shortcutList";

describe("shortcutsFor", () => {
  it("lists every shortcut on a canvas that edits", () => {
    expect(shortcutsFor(false)).toEqual(SHORTCUTS);
  });

  it("lists on a viewer's canvas only the keys that change nothing", () => {
    expect(shortcutsFor(true).map((shortcut) => shortcut.keys)).toEqual(["Ctrl+C", "Ctrl+click, or Shift+drag", "?"]);
  });
});
