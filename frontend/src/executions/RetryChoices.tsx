import type { RetryOptions } from "./types";

interface RetryChoicesProps {
  value: RetryOptions;
  onChange: (value: RetryOptions) => void;
  /** Why "latest" cannot be chosen, when it cannot. */
  latestRefused?: string;
}

/** Where a retry resumes and on which version: the two choices of every retry, one or many. */
export function RetryChoices({ value, onChange, latestRefused }: RetryChoicesProps) {
  return (
    <div className="retry-choices">
      <fieldset>
        <legend>Start from</legend>
        <Choice name="retry-from" checked={value.from === "failed_step"} onSelect={() => onChange({ ...value, from: "failed_step" })}
          label="The failed step" hint="Steps before it are not run again." />
        <Choice name="retry-from" checked={value.from === "start"} onSelect={() => onChange({ ...value, from: "start" })}
          label="The start" hint="Every step runs again; emails and webhooks already sent are not sent twice." />
      </fieldset>
      <fieldset>
        <legend>Run on</legend>
        <Choice name="retry-version" checked={value.version === "own"} onSelect={() => onChange({ ...value, version: "own" })}
          label="Its own version" hint="The version it ran with." />
        <Choice name="retry-version" checked={value.version === "latest"} onSelect={() => onChange({ ...value, version: "latest" })}
          label="The latest published version" hint={latestRefused ?? "Moves it to the newest version first."}
          disabled={Boolean(latestRefused)} />
      </fieldset>
    </div>
  );
}

interface ChoiceProps {
  name: string;
  label: string;
  hint: string;
  checked: boolean;
  disabled?: boolean;
  onSelect: () => void;
}

function Choice({ name, label, hint, checked, disabled, onSelect }: ChoiceProps) {
  return (
    <label className="retry-choice">
      <input type="radio" name={name} checked={checked} disabled={disabled} onChange={onSelect} />
      <span>
        {label}
        <span className="muted"> — {hint}</span>
      </span>
    </label>
  );
}
