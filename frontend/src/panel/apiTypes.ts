// The answers the panel reads, from the types generated out of the OpenAPI schema: a drift breaks the build.
import type { components } from "../api/schema.gen";

type Schemas = components["schemas"];

export type LiquidPreviewRequest = Schemas["LiquidPreviewRequestRequest"];
export type LiquidPreviewAnswer = Schemas["LiquidPreviewAnswer"];
export type TemplatePreview = Schemas["TemplatePreviewResult"];
export type Member = Schemas["Member"];
export type SmsSegmentsRequest = Schemas["SmsSegmentsRequestRequest"];
export type SmsSegmentsAnswer = Schemas["SmsSegmentsAnswer"];
