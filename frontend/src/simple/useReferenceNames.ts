// The names of the objects a step's config refers to, read as the side panel reads them (the same queries, so
// the card and the panel share their answers): a card says "Welcome email", not the template's id.
import { useQueries } from "@tanstack/react-query";
import { ApiError } from "../api/client";
import type { JsonSchema } from "../api/types";
import { chosenQuery } from "../panel/chosenQuery";
import type { Choice, Collection } from "../panel/references";
import { referencesIn, type ReferenceName } from "./summary";

export function useReferenceNames(config: Record<string, unknown>, schema: JsonSchema | undefined): ReferenceName {
  const wanted = [...referencesIn(config, schema).values()].flatMap(({ collection, values, constants }) =>
    values.filter((value) => !constants.includes(value)).map((value) => ({ collection, value })),
  );
  const answers = useQueries({ queries: wanted.map(({ collection, value }) => chosenQuery(collection, value)) });
  const names = new Map<string, string>();
  wanted.forEach(({ collection, value }, index) => {
    const answer = answers[index];
    const said = answer ? nameIn(collection, answer.data, answer.error) : null;
    if (said) names.set(key(collection, value), said);
  });
  return (collection, value) => names.get(key(collection, value)) ?? null;
}

const key = (collection: Collection, value: string) => `${collection.path}\u0000${value}`;

/** The object's name; "deleted …" when it is gone (a 404, or absent from its list); null while unknown. */
export function nameIn(collection: Collection, data: Choice | null | undefined, error: unknown): string | null {
  if (error instanceof ApiError && error.status === 404) return `deleted ${collection.noun}`;
  if (error) return `${collection.noun} (could not be read)`;
  if (data === null) return collection.readsOne ? `deleted ${collection.noun}` : `unknown ${collection.noun}`;
  return data ? data.label : null;
}
