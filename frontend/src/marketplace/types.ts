// The marketplace's shapes, from the types generated out of the OpenAPI schema (CONTRACT §15).
import type { components } from "../api/schema.gen";

type Schemas = components["schemas"];

export type TemplateListItem = Schemas["TemplateListItem"];
export type TemplateDetail = Schemas["TemplateDetail"];
export type TemplateStats = Schemas["TemplateStats"];
export type TemplateParameter = Schemas["TemplateParameter"];
export type TemplateCategory = Schemas["TemplateCategory"];
export type Installed = Schemas["TemplateInstalled"];

/** One thing installing into this workspace needs a choice or a value for (the detail's `install.missing`). */
export interface MissingItem {
  id: string;
  kind: "parameter" | "segment" | "campaign" | "workflow" | "email";
  name: string;
  message: string;
  can_create?: boolean;
}
export type TemplateOrigin = Schemas["TemplateOrigin"];
