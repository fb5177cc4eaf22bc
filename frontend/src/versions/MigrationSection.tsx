import type { GraphJson } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { plural } from "./describeDiff";
import { contactsInPlan, EXIT, movesToShow, timersText, type MigrationPlan } from "./migrationPlan";

interface MigrationSectionProps {
  next: number;
  inFlight: { number: number; in_flight: number }[];
  chosen: number[];
  onChoose: (versions: number[]) => void;
  mapping: Record<string, string>;
  onMap: (mapping: Record<string, string>) => void;
  plan: MigrationPlan | undefined;
  isLoading: boolean;
  error: unknown;
  canvas: GraphJson;
}

/**
 * The choice to move contacts already inside onto the new version, and the plan of it: where each step's
 * contacts go, what becomes of their timers, and the removed steps a person must map (to a step or out).
 */
export function MigrationSection(props: MigrationSectionProps) {
  const { next, inFlight, chosen, onChoose, mapping, onMap, plan, isLoading, error, canvas } = props;
  const toggle = (number: number, on: boolean) =>
    onChoose(on ? [...chosen, number].sort((a, b) => a - b) : chosen.filter((n) => n !== number));
  return (
    <fieldset className="migration-choice">
      <legend>Move contacts already inside to version {next}</legend>
      {inFlight.map((version) => (
        <label key={version.number}>
          <input
            type="checkbox"
            checked={chosen.includes(version.number)}
            onChange={(event) => toggle(version.number, event.target.checked)}
          />{" "}
          Move the {plural(version.in_flight, "contact")} on version {version.number}
        </label>
      ))}
      {chosen.length > 0 && (
        <MigrationPlanView plan={plan} isLoading={isLoading} error={error} mapping={mapping} onMap={onMap} canvas={canvas} next={next} />
      )}
    </fieldset>
  );
}

function MigrationPlanView({
  plan,
  isLoading,
  error,
  mapping,
  onMap,
  canvas,
  next,
}: Pick<MigrationSectionProps, "plan" | "isLoading" | "error" | "mapping" | "onMap" | "canvas" | "next">) {
  if (error) return <ErrorNotice error={error} />;
  if (isLoading || !plan) return <p className="loading">Planning the move…</p>;
  const steps = (canvas.nodes ?? []).filter((node) => !node.type.startsWith("trigger_"));
  const choose = (from: string, to: string) => {
    const { [from]: _dropped, ...rest } = mapping;
    onMap(to ? { ...rest, [from]: to } : rest);
  };
  const unmapped = new Set(plan.refusals.map((refusal) => refusal.from_node));
  const moves = movesToShow(plan);
  const mappable = [...new Set([...plan.refusals.map((r) => r.from_node ?? ""), ...Object.keys(mapping)])].filter(Boolean);
  return (
    <div className="migration-plan" aria-label="Migration plan">
      <table>
        <caption>Where contacts go ({plural(contactsInPlan(plan), "contact")} in all)</caption>
        <thead>
          <tr>
            <th scope="col">From</th>
            <th scope="col">To (version {next})</th>
            <th scope="col">Contacts</th>
            <th scope="col">Timers</th>
          </tr>
        </thead>
        <tbody>
          {moves.map((move) => (
            <tr key={`${move.from_version}-${move.from_node}`}>
              <td>
                v{move.from_version} {move.from_node}
              </td>
              <td>{move.to_node === EXIT ? "Exit the workflow" : move.to_node}</td>
              <td>{move.contacts}</td>
              <td title={move.timer_rule}>
                {timersText(move.timers) || "—"}
                {move.mid_step > 0 && ` (${move.mid_step} mid-step: moved once their step ends)`}
              </td>
            </tr>
          ))}
          {plan.refusals.map((refusal) => (
            <tr key={`refused-${refusal.from_version}-${refusal.from_node}`} className="needs-mapping">
              <td>
                v{refusal.from_version} {refusal.from_node}
              </td>
              <td>Not mapped yet</td>
              <td>{refusal.contacts}</td>
              <td>—</td>
            </tr>
          ))}
        </tbody>
      </table>
      {mappable.map((from) => (
        <label key={from} className={unmapped.has(from) ? "needs-mapping" : undefined}>
          Contacts at removed step {from} go to{" "}
          <select
            aria-label={`Contacts at removed step ${from} go to`}
            value={mapping[from] ?? ""}
            onChange={(event) => choose(from, event.target.value)}
          >
            <option value="">Choose…</option>
            {steps.map((node) => (
              <option key={node.id} value={node.id}>
                {(node.data?.label as string | undefined) || node.id}
              </option>
            ))}
            <option value={EXIT}>Exit the workflow</option>
          </select>
        </label>
      ))}
      {plan.unmigratable
        .filter((item) => item.code !== "unmapped")
        .map((item, index) => (
          <p key={index} className="notice">
            {plural(item.contacts, "contact")} {item.from_node ? `at ${item.from_node} ` : ""}cannot move: {item.reason}
          </p>
        ))}
      {plan.refusals.length > 0 && (
        <p role="alert">Choose where the contacts of each removed step go before publishing with the move.</p>
      )}
    </div>
  );
}
