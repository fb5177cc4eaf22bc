// The contact Liquid previews are rendered for: chosen once in the panel and kept while the builder is open, so
// that every step's previews speak of the same person.
import { useSyncExternalStore } from "react";
import type { Choice } from "./references";

let chosen: Choice | null = null;
const listeners = new Set<() => void>();

export function setPreviewContact(contact: Choice | null): void {
  chosen = contact;
  listeners.forEach((listener) => listener());
}

export function usePreviewContact(): Choice | null {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => chosen,
  );
}
