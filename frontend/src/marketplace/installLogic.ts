// What the gallery asks the API, and what the install dialog sends: pure functions, tested without a browser.
import type { MissingItem, TemplateParameter, TemplateStats } from "./types";

export const CREATE = "create";

export interface GalleryFilters {
  category: string;
  q: string;
  sort: "popular" | "newest";
}

/** The list request for the gallery's filters (empty ones left out). */
export function galleryPath({ category, q, sort }: GalleryFilters): string {
  const params = new URLSearchParams({ sort, limit: "500" });
  if (category) params.set("category", category);
  if (q.trim()) params.set("q", q.trim());
  return `workflow-templates?${params.toString()}`;
}

/** The answers of the install dialog: for an object, "create" or an existing id; for a parameter, its value. */
export type Answers = Record<string, string>;

/** Pre-fill the answers: create every object that can be created; parameters start empty. */
export function initialAnswers(missing: readonly MissingItem[]): Answers {
  return Object.fromEntries(missing.map((item) => [item.id, item.kind === "parameter" ? "" : CREATE]));
}

/** The items still without an answer (the install button waits for none). */
export function unanswered(missing: readonly MissingItem[], answers: Answers): MissingItem[] {
  return missing.filter((item) => !(answers[item.id] ?? "").trim());
}

/** A parameter's text as the API wants it: numbers as numbers, lists of addresses as lists. */
export function parameterValue(parameter: TemplateParameter | undefined, text: string): unknown {
  if (parameter?.type === "number" && text.trim() !== "" && !Number.isNaN(Number(text))) return Number(text);
  if (parameter?.type === "emails" && text.trim() !== "workspace_admins") {
    return text.split(",").map((part) => part.trim()).filter(Boolean);
  }
  return text.trim();
}

/** The install request's body: missing objects and parameters answered, and parameters the user changed. */
export function installBody(
  missing: readonly MissingItem[],
  answers: Answers,
  parameters: readonly TemplateParameter[],
  customised: Answers = {},
): { parameters: Record<string, unknown>; resources: Record<string, string> } {
  const byId = new Map(parameters.map((parameter) => [parameter.id, parameter]));
  const body = { parameters: {} as Record<string, unknown>, resources: {} as Record<string, string> };
  for (const [id, text] of Object.entries(customised)) {
    if (text.trim()) body.parameters[id] = parameterValue(byId.get(id), text);
  }
  for (const item of missing) {
    const answer = answers[item.id] ?? "";
    if (item.kind === "parameter") body.parameters[item.id] = parameterValue(byId.get(item.id), answer);
    else body.resources[item.id] = answer;
  }
  return body;
}

/** A template's figures in words: installs always; rates only when the server shows them. */
export function statsText(stats: TemplateStats): string {
  const installs = `${stats.installs} install${stats.installs === 1 ? "" : "s"}`;
  const published = `${stats.published} published`;
  if (stats.completion_rate == null || stats.goal_rate == null) return `${installs} · ${published}`;
  const percent = (rate: number) => `${Math.round(rate * 100)} %`;
  return `${installs} · ${published} · ${percent(stats.completion_rate)} completed · ${percent(stats.goal_rate)} reached a goal`;
}
