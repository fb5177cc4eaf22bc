// The editor of a `format: "duration"` string: typed in words ("2 days", "3h", "1 week 2 days") or ISO 8601,
// stored as ISO 8601 ("P2D"), shown back in words; what cannot be read is explained beneath.
import { useEffect, useState } from "react";
import type { WidgetProps } from "@rjsf/utils";
import { formatDuration, parseDuration } from "../time/durations";

export function DurationWidget({ id, value, onChange, schema, required, disabled, readonly, onBlur, onFocus }: WidgetProps) {
  const allowNegative = schema["x-allows-negative"] === true;
  const stored = typeof value === "string" ? value : "";
  const [text, setText] = useState(() => (stored ? formatDuration(stored) : ""));
  const [problem, setProblem] = useState<string | null>(null);
  // A value changed elsewhere (undo, redo, a reload) replaces the text, unless the text already means it.
  useEffect(() => {
    const typed = parseDuration(text, { allowNegative });
    if (!("iso" in typed && typed.iso === stored) && !(stored === "" && !text.trim())) {
      setText(stored ? formatDuration(stored) : "");
      setProblem(null);
    }
    // Only a change of the stored value is a reason to rewrite what is typed.
  }, [stored]);

  const change = (typed: string) => {
    setText(typed);
    if (!typed.trim() && !required) {
      setProblem(null);
      onChange(undefined);
      return;
    }
    const parsed = parseDuration(typed, { allowNegative });
    if ("iso" in parsed) {
      setProblem(null);
      if (parsed.iso !== stored) onChange(parsed.iso);
    } else {
      setProblem(parsed.problem);
    }
  };
  const fallback = typeof schema.default === "string" && schema.default ? formatDuration(schema.default) : null;
  const hintId = `${id}-hint`;
  const problemId = `${id}-problem`;
  const example = allowNegative ? "e.g. “3 days before”, “2 hours after”, “0 minutes”" : "e.g. “2 days”, “3h”, “1 week 2 days”";
  return (
    <div className="duration-widget">
      <input
        id={id}
        type="text"
        value={text}
        placeholder={fallback ?? undefined}
        required={required}
        disabled={disabled || readonly}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${problemId} ${hintId}` : hintId}
        onChange={(event) => change(event.target.value)}
        onBlur={() => onBlur(id, stored)}
        onFocus={() => onFocus(id, stored)}
      />
      {problem && (
        <p id={problemId} className="field-problem">
          {problem}
        </p>
      )}
      <p id={hintId} className="muted">
        {stored
          ? `Saved as ${stored} (${formatDuration(stored)}).`
          : fallback
            ? `Left empty: ${fallback}, the default.`
            : "Not set."}{" "}
        Type it in words, {example}.
      </p>
    </div>
  );
}
