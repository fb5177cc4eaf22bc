// A searchable combobox over one collection (WAI-ARIA combobox with a listbox popup): type to narrow, arrows to
// move, Enter to choose, Escape to close. The chosen objects are shown by name beside it, never by id.
import { useEffect, useId, useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Page } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { type Choice, choicesOf, type Collection, filterChoices, listPath, plural, type Row } from "./references";
import { useDebounced } from "./useDebounced";

interface PickerProps {
  id: string;
  label: string;
  collection: Collection;
  /** Choices offered before the collection's (notify's "All workspace admins"). */
  fixed?: Choice[];
  /** Values already chosen: not offered again. */
  exclude?: readonly string[];
  onPick: (choice: Choice) => void;
  describedBy?: string;
}

export function Picker({ id, label, collection, fixed = [], exclude = [], onPick, describedBy }: PickerProps) {
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listId = useId();
  const searched = useDebounced(query, 250);
  const list = useQuery({
    // The noun too: two collections over one list (social accounts, CRM connectors) offer different choices.
    queryKey: ["picker", collection.path, collection.noun, collection.searchable ? searched.trim() : ""],
    queryFn: () => api<Page<Row>>(listPath(collection, searched)).then((page) => choicesOf(collection, page.results)),
    enabled: open,
    staleTime: 30_000,
  });
  const choices = useMemo(
    () => filterChoices([...fixed, ...(list.data ?? [])], query).filter((choice) => !exclude.includes(choice.value)),
    [fixed, list.data, query, exclude],
  );
  useEffect(() => setActive(0), [query, open]);

  const pick = (choice: Choice | undefined) => {
    if (!choice) return;
    onPick(choice);
    setQuery("");
    setOpen(false);
  };
  const onKeyDown = (event: React.KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) return setOpen(true);
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive((index) => (choices.length ? (index + step + choices.length) % choices.length : 0));
    } else if (event.key === "Enter" && open) {
      event.preventDefault();
      pick(choices[active]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      setOpen(false);
    }
  };
  const optionId = (index: number) => `${listId}-option-${index}`;
  const status = list.isPending
    ? `Loading ${plural(collection)}…`
    : choices.length === 0
      ? query.trim()
        ? `No ${collection.noun} matches “${query.trim()}”.`
        : `This workspace has no ${plural(collection)} to choose yet: create one first.`
      : null;

  return (
    <div className="picker">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="text"
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open && choices[active] ? optionId(active) : undefined}
        aria-describedby={describedBy}
        autoComplete="off"
        placeholder={`Search ${plural(collection)} by name…`}
        value={query}
        onChange={(event) => {
          setQuery(event.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onClick={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      <ul id={listId} role="listbox" aria-label={`${label}: choices`} className="picker-list" hidden={!open || choices.length === 0}>
        {open &&
          choices.map((choice, index) => (
            <li
              key={choice.value}
              id={optionId(index)}
              role="option"
              aria-selected={index === active}
              className={index === active ? "active" : undefined}
              // Chosen before the input's blur closes the list.
              onMouseDown={(event) => {
                event.preventDefault();
                pick(choice);
              }}
              onMouseEnter={() => setActive(index)}
            >
              <span>{choice.label}</span>
              {choice.detail && <span className="muted"> {choice.detail}</span>}
            </li>
          ))}
      </ul>
      {open && status && (
        <p className="muted picker-status" role="status">
          {status}
        </p>
      )}
      {open && list.error && <ErrorNotice error={list.error} onRetry={() => void list.refetch()} />}
    </div>
  );
}
