import { lazy, Suspense } from "react";
import type { FieldProps } from "@rjsf/utils";

// The builder itself (react-querybuilder and the three views) loads only when a rule is shown.
const RuleEditor = lazy(() => import("./RuleEditor"));

/** The form field of every property the server marks `x-widget: "rule"` (a JsonLogic rule). */
export function RuleField({ formData, onChange, idSchema, schema, name, required }: FieldProps) {
  const id = idSchema.$id;
  return (
    <fieldset
      className="rule-field"
      // The form counts only input and change events as the user's edits; adding or removing a condition is a
      // click, so it is announced as an input too.
      onClickCapture={(event) => {
        if ((event.target as HTMLElement).closest("button")) {
          event.currentTarget.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }}
    >
      <legend>
        {schema.title ?? name}
        {required ? " (required)" : ""}
      </legend>
      {schema.description && <p className="muted">{schema.description}</p>}
      <Suspense fallback={<p>Loading the condition builder…</p>}>
        <RuleEditor id={id} rule={formData} onChange={(rule) => onChange(rule)} />
      </Suspense>
    </fieldset>
  );
}
