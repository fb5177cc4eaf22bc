import { useEffect, useState, type FormEvent } from "react";
import { useWorkflows } from "../api/queries";
import { dayOfSince, dayOfUntil, sinceOfDay, untilOfDay, type ExecutionFilters, type FilterName } from "./filters";
import { ContactFilter } from "./ContactFilter";
import { StepFilter } from "./StepFilter";
import { FILTER_LABELS, type FilterProblems } from "./filterProblems";
import { EXECUTION_STATUSES } from "./types";
import { STATUS_WORDS } from "./words";

interface FilterFormProps {
  filters: ExecutionFilters;
  onApply: (filters: ExecutionFilters) => void;
  /** What the server said of each filter it refused. */
  problems: FilterProblems;
}

/**
 * The list's filters. They apply on "Apply" (or Enter), not on each keystroke: each change is a query of a large
 * table, and a half-typed search is not one anybody meant.
 */
export function FilterForm({ filters, onApply, problems }: FilterFormProps) {
  const [draft, setDraft] = useState<ExecutionFilters>(filters);
  useEffect(() => setDraft(filters), [filters]);
  const workflows = useWorkflows();
  const set = (name: FilterName) => (value: string) => setDraft((current) => ({ ...current, [name]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply(draft);
  };
  return (
    <form className="execution-filters" role="search" aria-label="Filter the executions" onSubmit={submit}>
      <Field name="q" problem={problems.q} hint="Part of the contact's email or of the error, 3 characters or more">
        {(props) => <input {...props} type="search" value={draft.q ?? ""} onChange={(e) => set("q")(e.target.value)} />}
      </Field>
      <Field name="workflow" problem={problems.workflow}>
        {(props) => (
          <select {...props} value={draft.workflow ?? ""} onChange={(e) => set("workflow")(e.target.value)}>
            <option value="">Any workflow</option>
            {/* A workflow named in the link but not in the list (archived, another page) stays selectable. */}
            {draft.workflow && !workflows.data?.some((w) => w.id === draft.workflow) && (
              <option value={draft.workflow}>{draft.workflow}</option>
            )}
            {workflows.data?.map((workflow) => (
              <option key={workflow.id} value={workflow.id}>
                {workflow.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field name="version" problem={problems.version} hint="A number">
        {(props) => <input {...props} inputMode="numeric" value={draft.version ?? ""} onChange={(e) => set("version")(e.target.value)} />}
      </Field>
      <Field name="status" problem={problems.status}>
        {(props) => (
          <select {...props} value={draft.status ?? ""} onChange={(e) => set("status")(e.target.value)}>
            <option value="">Any status</option>
            {EXECUTION_STATUSES.map((status) => (
              <option key={status} value={status}>
                {STATUS_WORDS[status]}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field name="node" problem={problems.node} hint="Where the executions stand now">
        {(props) => <StepFilter workflowId={draft.workflow} control={props} value={draft.node ?? ""} onChange={set("node")} />}
      </Field>
      <Field name="error_type" problem={problems.error_type} hint="e.g. PortError">
        {(props) => <input {...props} value={draft.error_type ?? ""} onChange={(e) => set("error_type")(e.target.value)} />}
      </Field>
      <ContactFilter value={draft.contact} onChange={set("contact")} problem={problems.contact} />
      <Field name="since" problem={problems.since}>
        {(props) => (
          <input {...props} type="date" value={dayOfSince(draft.since)} onChange={(e) => set("since")(sinceOfDay(e.target.value))} />
        )}
      </Field>
      <Field name="until" problem={problems.until}>
        {(props) => (
          <input {...props} type="date" value={dayOfUntil(draft.until)} onChange={(e) => set("until")(untilOfDay(e.target.value))} />
        )}
      </Field>
      <div className="execution-filter-actions">
        <button type="submit" className="primary">
          Apply filters
        </button>
        <button type="button" onClick={() => onApply({})}>
          Clear filters
        </button>
      </div>
    </form>
  );
}

interface ControlProps {
  id: string;
  "aria-describedby"?: string;
  "aria-invalid"?: boolean;
}

interface FieldProps {
  name: FilterName;
  hint?: string;
  problem?: string;
  children: (props: ControlProps) => JSX.Element;
}

/** A labelled control with its hint and, when the server refused it, why: screen readers read both with it. */
function Field({ name, hint, problem, children }: FieldProps) {
  const id = `filter-${name}`;
  const describedBy = [problem && `${id}-problem`, hint && `${id}-hint`].filter(Boolean).join(" ");
  return (
    <div className="execution-filter">
      <label htmlFor={id}>{FILTER_LABELS[name]}</label>
      {children({ id, "aria-describedby": describedBy || undefined, "aria-invalid": problem ? true : undefined })}
      {problem && (
        <span id={`${id}-problem`} className="field-problem">
          {problem}
        </span>
      )}
      {hint && (
        <span id={`${id}-hint`} className="muted">
          {hint}
        </span>
      )}
    </div>
  );
}
