// How a chosen object is read by its value, for the side panel's picker and the simple mode's step cards alike:
// the same query key, so the card and the panel share one read (and one answer) per object.
import { api } from "../api/client";
import type { Page } from "../api/types";
import { type Choice, type Collection, listPath, type Row } from "./references";

/** The chosen object by its value: one read where the collection answers one, else a search of its list. Null
 * (or a 404) when it no longer exists. */
export function chosenQuery(collection: Collection, value: string) {
  return {
    queryKey: ["picked", collection.path, value] as const,
    queryFn: async (): Promise<Choice | null> => {
      if (collection.readsOne) {
        return collection.toChoice(await api<Row>(`${collection.path}/${encodeURIComponent(value)}`));
      }
      const page = await api<Page<Row>>(listPath(collection, value));
      return page.results.map(collection.toChoice).find((choice) => choice.value === value) ?? null;
    },
    retry: false,
    staleTime: 60_000,
  };
}
