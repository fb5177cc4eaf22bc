// Free JSON as text (a rule, a body, headers): applied when it parses, with the parse error said in words until
// it does. A value changed elsewhere (undo, redo) replaces the text unless the text already means that value.
import { useEffect, useState } from "react";
import type { FieldProps } from "@rjsf/utils";
import { LiquidPreview } from "./LiquidPreview";
import { parseJsonText } from "./schemaUi";

const asText = (value: unknown) => (value === undefined ? "" : JSON.stringify(value, null, 2));

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export function JsonField({ formData, onChange, idSchema, schema, name }: FieldProps) {
  const [text, setText] = useState(() => asText(formData));
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const typed = parseJsonText(text);
    if (!("value" in typed && sameJson(typed.value, formData))) {
      setText(asText(formData));
      setProblem(null);
    }
    // Only a change of the stored value is a reason to rewrite what is typed.
  }, [JSON.stringify(formData ?? null)]);
  const id = idSchema.$id;
  const liquid = schema["x-liquid"] === true || (schema.additionalProperties as { "x-liquid"?: boolean })?.["x-liquid"];
  return (
    <div className="json-field">
      <label htmlFor={id}>{schema.title ?? name} (JSON)</label>
      {schema.description && <p className="muted">{schema.description}</p>}
      <textarea
        id={id}
        value={text}
        rows={4}
        spellCheck={false}
        aria-invalid={problem ? true : undefined}
        onChange={(event) => {
          setText(event.target.value);
          const parsed = parseJsonText(event.target.value);
          if ("problem" in parsed) {
            setProblem(parsed.problem);
          } else {
            setProblem(null);
            onChange(parsed.value);
          }
        }}
      />
      {problem && <p className="field-problem">{problem}</p>}
      {liquid && !problem && <LiquidPreview value={formData} />}
    </div>
  );
}
