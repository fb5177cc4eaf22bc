/** What a path suggestion rests on, in words (the API gives figures by kind). */
export interface Suggestion {
  id: string;
  kind: "promote_split_winner" | "node_failing" | "email_low_engagement" | "goal_rare_after_branch";
  node_id: string;
  message: string;
  evidence: Record<string, unknown>;
  change?: { op: string; node_id: string; variant: string; target: string };
}

const percent = (value: unknown) => `${(Number(value) * 100).toFixed(1)}%`;
const count = (value: unknown) => Number(value).toLocaleString("en");

/** Return one line per figure of the evidence, so the marketer sees why before applying. */
export function evidenceLines(suggestion: Suggestion): string[] {
  const e = suggestion.evidence;
  switch (suggestion.kind) {
    case "promote_split_winner": {
      const variants = (e.variants ?? {}) as Record<string, { entered: number; goal_reached: number }>;
      return Object.entries(variants).map(
        ([name, v]) =>
          `${name}: ${count(v.goal_reached)} of ${count(v.entered)} reached the goal` +
          ` (${v.entered ? percent(v.goal_reached / v.entered) : "no entries"})`,
      );
    }
    case "node_failing":
      return [`${count(e.failed)} of ${count(e.entered)} failed (${percent(e.fail_rate)})`];
    case "email_low_engagement":
      return [
        `${count(e.engaged)} opens and clicks for ${count(e.delivered)} delivered`,
        `${Number(e.rate).toFixed(2)} per email here, ${Number(e.workspace_rate).toFixed(2)} in the workspace`,
      ];
    case "goal_rare_after_branch":
      return [
        `${count(e.goal_reached)} of ${count(e.entered)} reached the goal (${percent(e.rate)})`,
        `${percent(e.workflow_rate)} in the whole workflow`,
      ];
    default:
      return [];
  }
}
