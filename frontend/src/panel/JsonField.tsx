// Free JSON as text (a rule, a body, headers): applied when it parses, with the parse error said in words until
// it does. A value changed elsewhere (undo, redo) replaces the text unless the text already means that value.
import { useEffect, useState } from "react";
import type { FieldProps } from "@rjsf/utils";
import { LiquidPreview } from "./LiquidPreview";
import { parseJsonText } from "./schemaUi";

/**
 * The text a value is edited as: JSON, except that where Liquid texts are expected a text that is no JSON is
 * shown as it is (`Hi {{ contact.first_name }}`, not `"Hi {{ contact.first_name }}"`).
 */
export function textOfValue(value: unknown, lenient: boolean): string {
  if (value === undefined) return "";
  if (lenient && typeof value === "string" && "problem" in parseJsonText(value)) return value;
  return JSON.stringify(value, null, 2);
}

/** The value of a text: its JSON, or (lenient, where Liquid texts are expected) the text itself. */
export function valueOfText(text: string, lenient: boolean): { value: unknown } | { problem: string } {
  const parsed = parseJsonText(text);
  return "problem" in parsed && lenient ? { value: text } : parsed;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export function JsonField({ formData, onChange, idSchema, schema, name }: FieldProps) {
  // A value rendered with Liquid (a field's value, a body) may be a plain text: no quotes to type.
  const lenient = schema["x-liquid"] === true;
  const [text, setText] = useState(() => textOfValue(formData, lenient));
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const typed = valueOfText(text, lenient);
    if (!("value" in typed && sameJson(typed.value, formData))) {
      setText(textOfValue(formData, lenient));
      setProblem(null);
    }
    // Only a change of the stored value is a reason to rewrite what is typed.
  }, [JSON.stringify(formData ?? null)]);
  const id = idSchema.$id;
  const liquid = lenient || (schema.additionalProperties as { "x-liquid"?: boolean } | undefined)?.["x-liquid"];
  return (
    <div className="json-field">
      <label htmlFor={id}>
        {schema.title ?? name} ({lenient ? "a text, or JSON" : "JSON"})
      </label>
      {schema.description && <p className="muted">{schema.description}</p>}
      <textarea
        id={id}
        value={text}
        rows={4}
        spellCheck={false}
        aria-invalid={problem ? true : undefined}
        onChange={(event) => {
          setText(event.target.value);
          const parsed = valueOfText(event.target.value, lenient);
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
