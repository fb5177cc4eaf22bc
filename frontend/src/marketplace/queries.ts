import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Page } from "../api/types";
import { galleryPath, type GalleryFilters } from "./installLogic";
import type { TemplateCategory, TemplateDetail, TemplateListItem } from "./types";

export const marketplaceKeys = {
  list: (filters: GalleryFilters) => ["workflow-templates", "list", filters] as const,
  categories: ["workflow-templates", "categories"] as const,
  detail: (slug: string) => ["workflow-templates", "detail", slug] as const,
  choices: (kind: string) => ["workflow-templates", "choices", kind] as const,
};

export function useTemplates(filters: GalleryFilters) {
  return useQuery({
    queryKey: marketplaceKeys.list(filters),
    queryFn: () => api<TemplateListItem[]>(galleryPath(filters)),
    placeholderData: (previous) => previous,
  });
}

export function useTemplateCategories() {
  return useQuery({
    queryKey: marketplaceKeys.categories,
    queryFn: () => api<TemplateCategory[]>("workflow-templates/categories"),
    staleTime: 60_000,
  });
}

/** A template's detail at `path`: `workflow-templates/<slug>`, or `shared-templates/<token>` (a share link). */
export function useTemplate(path: string) {
  return useQuery({ queryKey: marketplaceKeys.detail(path), queryFn: () => api<TemplateDetail>(path) });
}

// The API collection of each kind of object a template may ask for, for "use an existing one".
const COLLECTIONS: Record<string, string> = {
  segment: "segments",
  campaign: "campaigns",
  workflow: "workflows",
  email: "templates",
};

/** The workspace's objects of a kind, to pick an existing one instead of creating it. */
export function useExistingChoices(kind: string, enabled: boolean) {
  return useQuery({
    queryKey: marketplaceKeys.choices(kind),
    queryFn: () =>
      api<Page<{ id: string; name: string }>>(`${COLLECTIONS[kind]}?limit=500`).then((page) => page.results),
    enabled: enabled && kind in COLLECTIONS,
    staleTime: 30_000,
  });
}
