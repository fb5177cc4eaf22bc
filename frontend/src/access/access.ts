// What the logged-in person may do in this workspace, from their role (GET /api/v1/me). The API refuses a viewer's
// writes whatever the builder shows (penguinflow/common/permissions.py); the builder offers a viewer no control that
// would be refused, so that reading a workflow never ends in a 403 or an edit that cannot be saved.
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Me } from "../api/types";

// The roles that change the workspace's content (workflows, executions, templates): the API's EDITOR and above.
const EDITING_ROLES: ReadonlySet<string> = new Set(["editor", "admin", "owner"]);

/** Whether `role` may change the workspace's content. Unknown or absent (not yet known, no membership): no. */
export function roleCanEdit(role: string | null | undefined): boolean {
  return role != null && EDITING_ROLES.has(role);
}

// The role does not change while a page is open (a re-role takes effect on the next load; the API refuses anyway).
export const meQuery = queryOptions({
  queryKey: ["me"] as const,
  queryFn: () => api<Me>("me"),
  staleTime: Infinity,
});

/** Whether the logged-in person may edit: false until their role is known, so a write control never shows to vanish. */
export function useCanEdit(): boolean {
  const me = useQuery(meQuery);
  return roleCanEdit(me.data?.user?.role);
}

