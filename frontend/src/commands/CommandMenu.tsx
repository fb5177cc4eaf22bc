import { useEffect, useMemo, useRef, useState } from "react";
import { Command } from "cmdk";
import { Dialog } from "../components/Dialog";
import type { PaletteItem } from "../palette/paletteLogic";
import { commandSections, type CanvasCommand, type CommandMenuPurpose } from "./commandLogic";
import "./commandMenu.css";

interface CommandMenuProps {
  purpose: CommandMenuPurpose | null;
  title: string;
  items: readonly PaletteItem[];
  commands: readonly CanvasCommand[];
  onChooseStep: (item: PaletteItem, purpose: CommandMenuPurpose) => void;
  onClose: () => void;
}

/** A searchable list of the canvas's commands and the palette's steps, run from the keyboard (cmdk). */
export function CommandMenu({ purpose, title, items, commands, onChooseStep, onClose }: CommandMenuProps) {
  return (
    <Dialog title={title} open={purpose !== null} onClose={onClose}>
      {purpose && (
        <CommandList purpose={purpose} items={items} commands={commands} onChooseStep={onChooseStep} onClose={onClose} />
      )}
    </Dialog>
  );
}

function CommandList({ purpose, items, commands, onChooseStep, onClose }: Omit<CommandMenuProps, "title"> & { purpose: CommandMenuPurpose }) {
  const [search, setSearch] = useState("");
  const input = useRef<HTMLInputElement>(null);
  // The dialog opens (showModal) after its content mounts, and moves focus itself: take it for the search once open.
  useEffect(() => {
    const frame = requestAnimationFrame(() => input.current?.focus());
    return () => cancelAnimationFrame(frame);
  }, []);
  const sections = useMemo(() => commandSections(purpose, items, commands, search), [purpose, items, commands, search]);
  const placeholder = purpose.kind === "insert" ? "Search steps to insert" : "Search steps and commands";
  return (
    // Our own filter (every word, in labels, descriptions and type names), the same as the palette's.
    <Command className="command-menu" label={placeholder} shouldFilter={false} loop>
      <Command.Input ref={input} value={search} onValueChange={setSearch} placeholder={placeholder} />
      <Command.List className="command-menu-list">
        {sections.length === 0 && (
          <p className="muted command-menu-empty">Nothing matches “{search}”. Try fewer or other words.</p>
        )}
        {sections.map((section) => (
          <Command.Group key={section.heading} heading={section.heading}>
            {section.entries.map((entry) =>
              entry.kind === "command" ? (
                <Command.Item
                  key={entry.key}
                  value={entry.key}
                  disabled={Boolean(entry.command.disabledBecause)}
                  onSelect={() => {
                    onClose();
                    entry.command.run();
                  }}
                >
                  <span>{entry.command.label}</span>
                  {entry.command.disabledBecause && <span className="command-hint">{entry.command.disabledBecause}</span>}
                  {entry.command.shortcut && <kbd>{entry.command.shortcut}</kbd>}
                </Command.Item>
              ) : (
                <Command.Item
                  key={entry.key}
                  value={entry.key}
                  data-node-type={entry.item.type}
                  onSelect={() => {
                    onClose();
                    onChooseStep(entry.item, purpose);
                  }}
                >
                  <span>{entry.item.label}</span>
                  <span className="command-hint">
                    {entry.item.presetOf ? `${entry.item.presetOf} preset · ` : ""}
                    {entry.item.description}
                  </span>
                </Command.Item>
              ),
            )}
          </Command.Group>
        ))}
      </Command.List>
    </Command>
  );
}
