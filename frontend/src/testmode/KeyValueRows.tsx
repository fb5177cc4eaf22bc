import type { FieldProblems, KeyValue } from "./script";
import { FieldProblem, problemId, problemProps } from "./FieldProblem";

interface KeyValueRowsProps {
  legend: string;
  path: string; // the field path of the object, e.g. "contact.fields"
  noun: string; // "field", "property"
  rows: KeyValue[];
  problems: FieldProblems;
  onChange: (rows: KeyValue[]) => void;
}

/** Named values (a contact's fields, an event's properties) as rows of name and value, added and removed. */
export function KeyValueRows({ legend, path, noun, rows, problems, onChange }: KeyValueRowsProps) {
  const update = (index: number, change: Partial<KeyValue>) =>
    onChange(rows.map((row, at) => (at === index ? { ...row, ...change } : row)));
  return (
    <fieldset className="test-pairs">
      <legend>{legend}</legend>
      {rows.map((row, index) => {
        const rowPath = `${path}[${index}]`;
        const problem = problems[rowPath];
        return (
          <div className="test-pair" key={index}>
            <input
              aria-label={`Name of ${noun} ${index + 1}`}
              placeholder="name"
              value={row.key}
              onChange={(event) => update(index, { key: event.target.value })}
              {...problemProps(problemId(rowPath), problem)}
            />
            <input
              aria-label={`Value of ${noun} ${index + 1}`}
              placeholder="value"
              value={row.value}
              onChange={(event) => update(index, { value: event.target.value })}
            />
            <button
              type="button"
              aria-label={`Remove ${noun} ${index + 1}`}
              onClick={() => onChange(rows.filter((_, at) => at !== index))}
            >
              ×
            </button>
            <FieldProblem id={problemId(rowPath)} problem={problem} />
          </div>
        );
      })}
      {problems[path] && <FieldProblem id={problemId(path)} problem={problems[path]} />}
      <button type="button" className="link-button" onClick={() => onChange([...rows, { key: "", value: "" }])}>
        + Add a {noun}
      </button>
    </fieldset>
  );
}
