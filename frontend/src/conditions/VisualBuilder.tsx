import { useId, useMemo, useState } from "react";
import { QueryBuilder, type RuleGroupType } from "react-querybuilder";
import { FieldPicker, NamedSelect, ValueInput, type BuilderContext } from "./controls";
import { type Imported, exportQuery } from "./ruleModel";
import { useSegments } from "./segments";
import { errorText } from "../api/client";
import { EVENT_SUGGESTIONS, FIELD_SUGGESTIONS, OPERATOR_LABELS, defaultValue, fitQuery, operatorsFor } from "./rows";

const FIELDS = [{ name: "contact.email", value: "contact.email", label: "contact.email" }];
const COMBINATORS = [
  { name: "and", value: "and", label: "all of these (AND)" },
  { name: "or", value: "or", label: "any of these (OR)" },
];
const TRANSLATIONS = {
  addRule: { label: "+ Condition", title: "Add a condition to this group" },
  addGroup: { label: "+ Group", title: "Add a group of conditions inside this one" },
  removeRule: { label: "Remove", title: "Remove this condition" },
  removeGroup: { label: "Remove group", title: "Remove this group and its conditions" },
  notToggle: { label: "NOT", title: "Negate this group: it holds when its conditions do not" },
  combinators: { title: "How the conditions of this group combine" },
  operators: { title: "Comparison" },
};

interface VisualBuilderProps {
  imported: Extract<Imported, { query: unknown }>;
  onChange: (rule: unknown) => void;
}

/** The rule as groups of rows (react-querybuilder); each change is written back as JsonLogic at once. */
export function VisualBuilder({ imported, onChange }: VisualBuilderProps) {
  const [query, setQuery] = useState<RuleGroupType>(imported.query);
  const ids = useId();
  const segments = useSegments();
  const context: BuilderContext = useMemo(
    () => ({
      fieldList: `${ids}-fields`,
      eventList: `${ids}-events`,
      segmentList: `${ids}-segments`,
      segmentNames: new Map((segments.data ?? []).map((segment) => [segment.id, segment.name])),
    }),
    [ids, segments.data],
  );
  return (
    <div className="rule-visual">
      <QueryBuilder
        fields={FIELDS}
        query={query}
        onQueryChange={(changed) => {
          // The library keeps an operator or value that no longer fits a changed field; fitQuery replaces them.
          const fitted = fitQuery(changed);
          setQuery(fitted);
          onChange(exportQuery(fitted));
        }}
        combinators={COMBINATORS}
        getOperators={(field) => operatorsFor(field).map((name) => ({ name, value: name, label: OPERATOR_LABELS[name] ?? name }))}
        getDefaultOperator={(field) => operatorsFor(field)[0] ?? "=="}
        getDefaultValue={(rule) => defaultValue(rule.field, rule.operator)}
        controlElements={{
          fieldSelector: FieldPicker,
          valueEditor: ValueInput,
          combinatorSelector: NamedSelect,
          operatorSelector: NamedSelect,
        }}
        translations={TRANSLATIONS}
        context={context}
        showNotToggle
        resetOnFieldChange={false}
        resetOnOperatorChange={false}
      />
      {query.rules.length === 0 && (
        <p className="muted">No condition yet: add one with “+ Condition”, or write the rule in the Expression view.</p>
      )}
      <datalist id={context.fieldList}>
        {FIELD_SUGGESTIONS.map((path) => (
          <option key={path} value={path} />
        ))}
      </datalist>
      <datalist id={context.segmentList}>
        {(segments.data ?? []).map((segment) => (
          <option key={segment.id} value={segment.id}>
            {segment.name}
          </option>
        ))}
      </datalist>
      {segments.error && (
        <p className="muted">The segments could not be listed ({errorText(segments.error)}); a segment's id can still be typed.</p>
      )}
      <datalist id={context.eventList}>
        {EVENT_SUGGESTIONS.map((type) => (
          <option key={type} value={type} />
        ))}
      </datalist>
    </div>
  );
}
