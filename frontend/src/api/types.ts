// The shapes of CONTRACT §5, §5a and §6 the builder reads. Written by hand for now: see the report's follow-ups
// (generating them from /api/schema/ would make a drifting schema break the build).

export type WorkflowStatus = "draft" | "active" | "paused" | "archived";

export interface GraphNodeJson {
  id: string;
  type: string;
  position: { x: number; y: number };
  data: { label?: string; config: Record<string, unknown>; [extra: string]: unknown };
}

export interface GraphEdgeJson {
  id: string;
  source: string;
  target: string;
  sourceHandle: string;
}

export interface GraphJson {
  nodes: GraphNodeJson[];
  edges: GraphEdgeJson[];
}

export interface Workflow {
  id: string;
  name: string;
  description: string;
  status: WorkflowStatus;
  published_version: number | null;
  draft: { graph: GraphJson; settings: Record<string, unknown>; revision: number } | null;
  created_at: string;
  updated_at: string;
}

export interface Page<T> {
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface Issue {
  code: string;
  message: string;
  node_id?: string;
  edge_id?: string;
}

export interface ValidationReport {
  errors: Issue[];
  warnings: Issue[];
}

export interface DraftSaved {
  revision: number;
  validation: ValidationReport;
}

export type NodeKind = "trigger" | "logic" | "wait" | "action";

export interface JsonSchema {
  [keyword: string]: unknown;
}

export interface NodeTypeInfo {
  type: string;
  kind: NodeKind;
  label: string;
  description: string;
  config_schema: JsonSchema;
  branches: string[] | "dynamic";
}

export interface Preset {
  id: string;
  label: string;
  description: string;
  category: string;
  type: string;
  config: Record<string, unknown>;
}

export interface WorkflowAnalytics {
  enrollments: { active: number; waiting: number; completed: number; exited: number; failed: number };
}
