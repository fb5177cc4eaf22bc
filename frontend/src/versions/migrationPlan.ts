import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { components } from "../api/schema.gen";

type Schemas = components["schemas"];
// The answer of a dry run carries every field of the plan (the schema marks them optional: publish answers
// `{version}` alone without `migrate`).
export type MigrationPlan = Required<Schemas["PublishAnswer"]>;
export type PlannedMove = Schemas["PlannedMove"];
export type Unmigratable = Schemas["Unmigratable"];

/** What publishing asks for when it moves contacts in flight (CONTRACT §17): `publish`'s `migrate` body. */
export interface MigrateRequest {
  from_versions: number[];
  mapping: Record<string, string>;
  dry_run: boolean;
}

export const EXIT = "exit";

/**
 * The plan of moving the chosen versions' contacts onto the draft: a dry run of publish, asked again whenever the
 * choice, the mapping or the saved draft changes. Nothing changes on the server.
 */
export function useMigrationPlan(
  workflowId: string,
  fromVersions: number[],
  mapping: Record<string, string>,
  draftRevision: number | undefined,
) {
  return useQuery({
    queryKey: ["workflows", workflowId, "migration-plan", fromVersions, mapping, draftRevision],
    queryFn: () =>
      api<MigrationPlan>(`workflows/${workflowId}/publish`, {
        method: "POST",
        body: { migrate: { from_versions: fromVersions, mapping, dry_run: true } },
      }),
    enabled: fromVersions.length > 0,
    staleTime: 0,
  });
}

/** The moves worth a line: those that move somebody, and every node a person mapped. */
export function movesToShow(plan: MigrationPlan): PlannedMove[] {
  return plan.moves.filter((move) => move.contacts > 0 || move.mapped);
}

/** "3 kept, 1 recomputed" for a move's timers, or "" when it has none. */
export function timersText(timers: PlannedMove["timers"]): string {
  return (["kept", "recomputed", "fired"] as const)
    .filter((kind) => timers[kind] > 0)
    .map((kind) => `${timers[kind]} ${kind}`)
    .join(", ");
}

/** How many contacts the plan concerns: those it moves, and those at removed steps still to be mapped. */
export function contactsInPlan(plan: MigrationPlan): number {
  return (plan.totals.contacts as number) + plan.refusals.reduce((sum, refusal) => sum + refusal.contacts, 0);
}
