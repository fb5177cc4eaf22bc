import { FieldProblem, problemId, problemProps } from "./FieldProblem";
import { KeyValueRows } from "./KeyValueRows";
import {
  EVENT_PRESETS,
  moveEvent,
  newEventId,
  presetEvent,
  type EventTiming,
  type FieldProblems,
  type ScriptEvent,
} from "./script";

interface EventScriptSectionProps {
  events: ScriptEvent[];
  eventTypes: string[];
  problems: FieldProblems;
  onChange: (events: ScriptEvent[]) => void;
}

/** The script: what the contact does, and when (after the start, or at a moment). */
export function EventScriptSection({ events, eventTypes, problems, onChange }: EventScriptSectionProps) {
  const update = (id: string, change: Partial<ScriptEvent>) =>
    onChange(events.map((event) => (event.id === id ? { ...event, ...change } : event)));

  return (
    <section className="test-section" aria-labelledby="test-events-heading">
      <h3 id="test-events-heading">What the contact does</h3>
      <div className="test-presets" role="group" aria-label="Add a scripted event">
        {EVENT_PRESETS.map((preset) => (
          <button key={preset.label} type="button" onClick={() => onChange([...events, presetEvent(preset)])}>
            + {preset.label}
          </button>
        ))}
        <button
          type="button"
          onClick={() =>
            onChange([...events, { id: newEventId(), timing: { kind: "after", text: "1 day" }, type: "", properties: [] }])
          }
        >
          + Another event
        </button>
      </div>
      {events.length === 0 && (
        <p className="muted">No events: the contact enters and does nothing; waits for an event end by their timeout.</p>
      )}
      <datalist id="test-event-types">
        {eventTypes.map((type) => (
          <option key={type} value={type} />
        ))}
      </datalist>
      <ol className="test-events">
        {events.map((event, index) => (
          <EventRow
            key={event.id}
            event={event}
            index={index}
            last={index === events.length - 1}
            problems={problems}
            onChange={(change) => update(event.id, change)}
            onMove={(by) => onChange(moveEvent(events, event.id, by))}
            onRemove={() => onChange(events.filter((other) => other.id !== event.id))}
          />
        ))}
      </ol>
    </section>
  );
}

interface EventRowProps {
  event: ScriptEvent;
  index: number;
  last: boolean;
  problems: FieldProblems;
  onChange: (change: Partial<ScriptEvent>) => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}

function EventRow({ event, index, last, problems, onChange, onMove, onRemove }: EventRowProps) {
  const path = `events[${index}]`;
  const name = `Event ${index + 1}`;
  const timingPath = `${path}.${event.timing.kind}`;
  const setTiming = (timing: EventTiming) => onChange({ timing });
  return (
    <li className="test-event">
      <fieldset>
        <legend>
          {name}
          {event.type ? `: ${event.type}` : ""}
        </legend>
        <div className="test-event-when">
          <select
            aria-label={`When ${name} happens`}
            value={event.timing.kind}
            onChange={(change) =>
              setTiming(change.target.value === "at" ? { kind: "at", local: "" } : { kind: "after", text: "1 day" })
            }
          >
            <option value="after">after the start</option>
            <option value="at">at a moment</option>
          </select>
          {event.timing.kind === "after" ? (
            <input
              aria-label={`How long after the start ${name} happens`}
              placeholder="2 days, 3h, 90 minutes"
              value={event.timing.text}
              onChange={(change) => setTiming({ kind: "after", text: change.target.value })}
              {...problemProps(problemId(timingPath), problems[timingPath])}
            />
          ) : (
            <input
              type="datetime-local"
              aria-label={`When ${name} happens`}
              value={event.timing.local}
              onChange={(change) => setTiming({ kind: "at", local: change.target.value })}
              {...problemProps(problemId(timingPath), problems[timingPath])}
            />
          )}
        </div>
        <FieldProblem id={problemId(timingPath)} problem={problems[timingPath]} />
        <label htmlFor={`test-event-type-${event.id}`}>Event type</label>
        <input
          id={`test-event-type-${event.id}`}
          list="test-event-types"
          placeholder="email.opened"
          value={event.type}
          onChange={(change) => onChange({ type: change.target.value })}
          {...problemProps(problemId(`${path}.type`), problems[`${path}.type`])}
        />
        <FieldProblem id={problemId(`${path}.type`)} problem={problems[`${path}.type`]} />
        <KeyValueRows
          legend="Properties"
          noun={`property of event ${index + 1}`}
          path={`${path}.properties`}
          rows={event.properties}
          problems={problems}
          onChange={(properties) => onChange({ properties })}
        />
        <FieldProblem id={problemId(path)} problem={problems[path]} />
        <div className="test-event-actions">
          <button type="button" onClick={() => onMove(-1)} disabled={index === 0} aria-label={`Move ${name} up`}>
            ↑
          </button>
          <button type="button" onClick={() => onMove(1)} disabled={last} aria-label={`Move ${name} down`}>
            ↓
          </button>
          <button type="button" onClick={onRemove} aria-label={`Remove ${name}`}>
            Remove
          </button>
        </div>
      </fieldset>
    </li>
  );
}
