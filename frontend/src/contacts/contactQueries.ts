// The contact screens' server state: the contact, its timeline (cursor pages), its live enrollments, and the
// contacts list the search page pages through. Keys start with the contact's id so that a live message can
// invalidate everything of one contact at once.
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Contact, Page } from "../api/types";
import type { components } from "../api/schema.gen";

export type TimelineItem = components["schemas"]["TimelineItem"];
export type TimelinePage = components["schemas"]["TimelinePage"];
export type Execution = components["schemas"]["Execution"];
export type ContactStatus = components["schemas"]["ContactStatusEnum"];

export interface TimelineFilters {
  kind: "" | "event" | "step";
  workflow: string;
}

export interface ContactListFilters {
  q: string;
  status: "" | ContactStatus;
  tag: string;
}

export const contactKeys = {
  contact: (id: string) => ["contact", id] as const,
  timelineOf: (id: string) => ["contact-timeline", id] as const,
  timeline: (id: string, filters: TimelineFilters) => ["contact-timeline", id, filters] as const,
  enrollments: (id: string) => ["contact-enrollments", id] as const,
  list: (filters: ContactListFilters) => ["contacts", "list", filters] as const,
};

const TIMELINE_PAGE = 50;
const LIST_PAGE = 50;
// The statuses of an enrollment that is still going: in a step now, or waiting for its time or an event.
const LIVE_STATUSES = ["active", "waiting"] as const;

export function useContact(id: string) {
  return useQuery({ queryKey: contactKeys.contact(id), queryFn: () => api<Contact>(`contacts/${id}`) });
}

export function timelinePath(id: string, filters: TimelineFilters, cursor: string | null): string {
  const params = new URLSearchParams({ limit: String(TIMELINE_PAGE) });
  if (filters.kind) params.set("kind", filters.kind);
  if (filters.workflow) params.set("workflow", filters.workflow);
  if (cursor) params.set("cursor", cursor);
  return `contacts/${id}/timeline?${params}`;
}

/** The timeline, newest first, a page of 50 at a time ("load more" fetches the next cursor). */
export function useContactTimeline(id: string, filters: TimelineFilters) {
  return useInfiniteQuery({
    queryKey: contactKeys.timeline(id, filters),
    queryFn: ({ pageParam }) => api<TimelinePage>(timelinePath(id, filters, pageParam)),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
  });
}

/**
 * The contact's enrollments that are still going, newest first: the executions list filtered by contact, once per
 * live status (the list filters one status at a time; a contact has a handful, so two small reads).
 */
export function useContactEnrollments(id: string) {
  return useQuery({
    queryKey: contactKeys.enrollments(id),
    queryFn: async () => {
      const pages = await Promise.all(
        LIVE_STATUSES.map((status) => api<Page<Execution>>(`executions?contact=${id}&status=${status}&limit=100`)),
      );
      return pages.flatMap((page) => page.results).sort((a, b) => b.entered_at.localeCompare(a.entered_at));
    },
  });
}

export function contactListPath(filters: ContactListFilters, cursor: string | null): string {
  const params = new URLSearchParams({ limit: String(LIST_PAGE) });
  for (const name of ["q", "status", "tag"] as const) {
    const value = filters[name].trim();
    if (value) params.set(name, value);
  }
  if (cursor) params.set("cursor", cursor);
  return `contacts?${params}`;
}

/** The cursor of a DRF `next` link (a full URL), for the following page. */
export function cursorOf(next: string | null | undefined): string | null {
  if (!next) return null;
  return new URL(next, "http://any.invalid").searchParams.get("cursor");
}

export function useContactList(filters: ContactListFilters) {
  return useInfiniteQuery({
    queryKey: contactKeys.list(filters),
    queryFn: ({ pageParam }) => api<Page<Contact>>(contactListPath(filters, pageParam)),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => cursorOf(last.next),
    // The last results stay on screen while a new search loads, instead of a blank "Loading…".
    placeholderData: keepPreviousData,
  });
}
