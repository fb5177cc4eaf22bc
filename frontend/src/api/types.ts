// The shapes the builder reads, taken from the types generated out of the OpenAPI schema (schema.gen.ts, written
// by `make frontend` before each build): when the API's schema drifts from what a screen uses, the build fails.
import type { components } from "./schema.gen";

type Schemas = components["schemas"];

export type WorkflowStatus = Schemas["WorkflowStatusEnum"];
// The answer always carries every field; the schema marks some optional because requests may leave them out.
export type Workflow = Required<Schemas["Workflow"]>;
// A workflow as the list answers it: with its enrollments per status, counted for the whole page at once.
export type WorkflowListItem = Required<Schemas["WorkflowListItem"]>;
export type EnrollmentCounts = Schemas["EnrollmentCounts"];
export type GraphJson = Schemas["Graph"];
export type GraphNodeJson = Schemas["GraphNode"];
export type GraphEdgeJson = Schemas["GraphEdge"];
export type Page<T> = { next?: string | null; previous?: string | null; results: T[] };
export type Issue = Schemas["Issue"];
export type ValidationReport = Schemas["ValidationReport"];
export type DraftSaved = Schemas["DraftSaved"];
export type NodeKind = Schemas["KindEnum"];
export type NodeTypeInfo = Schemas["NodeType"];
export type Preset = Schemas["Preset"];
export type WorkflowAnalytics = Schemas["Analytics"];

export interface JsonSchema {
  [keyword: string]: unknown;
}
export type Contact = Schemas["Contact"];
export type SimulationRequest = Schemas["SimulationRequest"];
export type SimulationResult = Schemas["SimulationResult"];
export type SimulationStep = Schemas["SimulationStep"];
export type SimulationAction = Schemas["SimulationAction"];
export type VersionSummary = Schemas["VersionSummary"];
export type TimeZone = Schemas["TimeZone"];
// Who is calling: the workspace, and for a browser session the user and their role there.
export type Me = Schemas["Me"];
