import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Page } from "../api/types";
import type { components } from "../api/schema.gen";

export type Segment = Pick<components["schemas"]["Segment"], "id" | "name">;

// The segments offered when a condition tests membership: the newest 500 (the API's page limit); any other
// segment's id may still be typed.
export function useSegments() {
  return useQuery({
    queryKey: ["segments", "for-conditions"],
    queryFn: () => api<Page<Segment>>("segments?limit=500").then((page) => page.results),
    staleTime: 60_000,
  });
}
