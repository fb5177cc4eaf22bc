// The builder's own row controls: what a row tests (a path of the data, typed freely, perhaps through a measure,
// or a history operation) and a value editor per operator. Every control has a label for screen readers.
import { useState } from "react";
import type { FieldSelectorProps, FullOption, ValueEditorProps, ValueSelectorProps } from "react-querybuilder";
import {
  EMAIL_EVENT,
  EMAIL_EVENTS,
  EVENT_COUNT,
  IN_SEGMENT,
  type EmailEventValue,
  type EventCountValue,
  type Measure,
  fieldOf,
  readField,
} from "./ruleModel";
import { isNumeric } from "./rows";

export interface BuilderContext {
  /** The id of the page's list of suggested paths (one per editor: ids must be unique on the page). */
  fieldList: string;
  eventList: string;
  segmentList: string;
  /** Segment names by id, to say which segment a typed or picked id is. */
  segmentNames: Map<string, string>;
}

const KINDS: { value: string; label: string }[] = [
  { value: "", label: "the value of" },
  { value: "lower", label: "the lowercase of" },
  { value: "upper", label: "the uppercase of" },
  { value: "length", label: "the length of" },
  { value: "days_since", label: "days since" },
  { value: EMAIL_EVENT, label: "an email event" },
  { value: EVENT_COUNT, label: "the number of events" },
  { value: IN_SEGMENT, label: "segment membership" },
];

export function FieldPicker({ value = "", handleOnChange, context, disabled }: FieldSelectorProps) {
  const subject = readField(value);
  const kind = "special" in subject ? subject.special : (subject.measure ?? "");
  const path = "special" in subject ? "" : subject.path;
  const { fieldList } = context as BuilderContext;
  return (
    <span className="rule-subject">
      <select
        aria-label="What to test"
        value={kind}
        disabled={disabled}
        onChange={(event) => {
          const next = event.target.value;
          if (next.startsWith("$")) handleOnChange(next);
          else handleOnChange(fieldOf({ path: path || "contact.email", measure: (next || null) as Measure | null }));
        }}
      >
        {KINDS.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {!("special" in subject) && (
        <input
          aria-label="Field (a path of the data, e.g. contact.fields.plan)"
          className="rule-path"
          list={fieldList}
          value={path}
          disabled={disabled}
          spellCheck={false}
          onChange={(event) => handleOnChange(fieldOf({ path: event.target.value, measure: subject.measure }))}
        />
      )}
    </span>
  );
}

/** The library's selects (combinator, operator) with an accessible name, not a tooltip alone. */
export function NamedSelect({ options, value, handleOnChange, title, className, disabled }: ValueSelectorProps) {
  return (
    <select aria-label={title} title={title} className={className} value={value} disabled={disabled}
      onChange={(event) => handleOnChange(event.target.value)}>
      {(options as FullOption[]).map((option) => (
        <option key={option.name} value={option.name}>
          {option.label}
        </option>
      ))}
    </select>
  );
}

export function ValueInput(props: ValueEditorProps) {
  const { field, operator, value, handleOnChange, disabled } = props;
  const { eventList, segmentList, segmentNames } = props.context as BuilderContext;
  if (field === EMAIL_EVENT) return <EmailEventInputs value={value as EmailEventValue} onChange={handleOnChange} disabled={disabled} />;
  if (field === EVENT_COUNT) {
    return <EventCountInputs value={value as EventCountValue} onChange={handleOnChange} disabled={disabled} eventList={eventList} />;
  }
  if (field === IN_SEGMENT) {
    const name = segmentNames.get(String(value ?? ""));
    return (
      <span className="rule-history">
        <input
          aria-label="Segment id"
          placeholder="pick a segment or type its id"
          list={segmentList}
          value={String(value ?? "")}
          disabled={disabled}
          spellCheck={false}
          onChange={(event) => handleOnChange(event.target.value)}
        />
        {value && <span className="muted">{name ? `“${name}”` : "not a segment of the list"}</span>}
      </span>
    );
  }
  if (operator === "one_of") {
    return <ListInput key={field} value={Array.isArray(value) ? (value as string[]) : []} onChange={handleOnChange} disabled={disabled} />;
  }
  if (typeof value === "boolean") {
    return (
      <select aria-label="Value" value={String(value)} disabled={disabled} onChange={(event) => handleOnChange(event.target.value === "true")}>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  }
  if (typeof value === "number" || isNumeric(field)) {
    return <NumberInput key={`${field} ${operator}`} label="Value" value={value} onChange={handleOnChange} disabled={disabled} />;
  }
  return (
    <input
      aria-label={operator === "regex" ? "Pattern (regular expression)" : "Value"}
      value={String(value ?? "")}
      disabled={disabled}
      onChange={(event) => handleOnChange(event.target.value)}
    />
  );
}

// The text as typed is kept while the value follows it: "1." or "a," would otherwise be rewritten mid-typing.
function NumberInput({ label, value, onChange, disabled }: { label: string; value: unknown; onChange: (value: number | "") => void; disabled?: boolean }) {
  const [text, setText] = useState(typeof value === "number" ? String(value) : "");
  return (
    <input
      type="number"
      aria-label={label}
      className="rule-number"
      value={text}
      disabled={disabled}
      onChange={(event) => {
        setText(event.target.value);
        const number = event.target.valueAsNumber;
        onChange(Number.isFinite(number) ? number : "");
      }}
    />
  );
}

function ListInput({ value, onChange, disabled }: { value: string[]; onChange: (value: string[]) => void; disabled?: boolean }) {
  const [text, setText] = useState(value.join(", "));
  return (
    <input
      aria-label="Values, separated by commas"
      placeholder="a, b, c"
      value={text}
      disabled={disabled}
      onChange={(event) => {
        setText(event.target.value);
        onChange(event.target.value.split(",").map((item) => item.trim()).filter(Boolean));
      }}
    />
  );
}

function EmailEventInputs({ value, onChange, disabled }: { value: EmailEventValue; onChange: (value: EmailEventValue) => void; disabled?: boolean }) {
  const set = (key: keyof EmailEventValue, item: string) => onChange({ ...value, [key]: item });
  return (
    <span className="rule-history">
      <select aria-label="Email event" value={value.event ?? ""} disabled={disabled} onChange={(event) => set("event", event.target.value)}>
        {!EMAIL_EVENTS.includes((value.event ?? "") as never) && <option value={value.event ?? ""}>{value.event || "choose…"}</option>}
        {EMAIL_EVENTS.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
      <input aria-label="Within (ISO duration, e.g. P3D; empty: ever)" placeholder="within, e.g. P3D" className="rule-duration"
        value={value.within ?? ""} disabled={disabled} onChange={(event) => set("within", event.target.value)} />
      <input aria-label="Sent by step (node id, optional)" placeholder="step id (optional)" className="rule-short"
        value={value.node ?? ""} disabled={disabled} onChange={(event) => set("node", event.target.value)} />
      <input aria-label="Link contains (optional)" placeholder="link contains (optional)"
        value={value.url_contains ?? ""} disabled={disabled} onChange={(event) => set("url_contains", event.target.value)} />
    </span>
  );
}

function EventCountInputs({ value, onChange, disabled, eventList }: { value: EventCountValue; onChange: (value: EventCountValue) => void; disabled?: boolean; eventList: string }) {
  return (
    <span className="rule-history">
      <input aria-label="Event type" list={eventList} placeholder="e.g. email.opened" value={value.type ?? ""}
        disabled={disabled} spellCheck={false} onChange={(event) => onChange({ ...value, type: event.target.value })} />
      <input aria-label="Counted within (ISO duration, e.g. P30D; empty: ever)" placeholder="within, e.g. P30D" className="rule-duration"
        value={value.within ?? ""} disabled={disabled} onChange={(event) => onChange({ ...value, within: event.target.value })} />
      <NumberInput label="Count" value={value.count} disabled={disabled} onChange={(count) => onChange({ ...value, count })} />
    </span>
  );
}
