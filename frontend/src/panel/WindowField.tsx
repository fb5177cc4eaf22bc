// The editor of a delivery window (a property whose schema says `"x-widget": "window"`): off by default (no
// window: the step runs at once), and when on, the days, the hours, the time zone and what happens outside.
import { useId, useMemo } from "react";
import type { FieldProps } from "@rjsf/utils";
import { windowProblems, type DeliveryWindow, WEEKDAYS, WEEKDAY_NAMES, defaultWindow } from "./windows";

export function WindowField({ formData, onChange, idSchema, schema }: FieldProps) {
  // A window saved with some keys left out shows the server's defaults for them.
  const window = isObject(formData) ? { ...defaultWindow(), ...formData } as DeliveryWindow : null;
  const id = idSchema.$id;
  const zonesId = useId();
  const zones = useMemo(timeZoneNames, []);
  const set = (change: Partial<DeliveryWindow>) => window && onChange({ ...window, ...change });
  const problems = window ? windowProblems(window, zones) : [];
  const title = typeof schema.title === "string" ? schema.title : "Window";
  return (
    <fieldset className="window-field">
      <legend>{title === "Window" ? "Delivery window" : title}</legend>
      <label className="inline">
        <input
          id={`${id}-on`}
          type="checkbox"
          checked={window !== null}
          onChange={(event) => onChange(event.target.checked ? defaultWindow() : undefined)}
        />{" "}
        Only send inside a window
      </label>
      {!window ? (
        <p className="muted">Off: the step runs as soon as it is reached, at any hour.</p>
      ) : (
        <>
          <fieldset className="window-days">
            <legend>Days</legend>
            <div className="day-boxes">
              {WEEKDAYS.map((day) => (
                <label key={day} className="inline">
                  <input
                    type="checkbox"
                    checked={window.days.includes(day)}
                    onChange={(event) =>
                      set({
                        days: WEEKDAYS.filter((kept) =>
                          kept === day ? event.target.checked : window.days.includes(kept),
                        ),
                      })
                    }
                  />{" "}
                  {WEEKDAY_NAMES[day]}
                </label>
              ))}
            </div>
            <button type="button" onClick={() => set({ days: WEEKDAYS.slice(0, 5) })}>
              Monday to Friday
            </button>{" "}
            <button type="button" onClick={() => set({ days: [...WEEKDAYS] })}>
              Every day
            </button>
          </fieldset>
          <div className="window-hours">
            <label>
              From
              <input type="time" value={window.start} required onChange={(event) => set({ start: event.target.value })} />
            </label>
            <label>
              Until
              <input type="time" value={window.end} required onChange={(event) => set({ end: event.target.value })} />
            </label>
          </div>
          <fieldset>
            <legend>Time zone</legend>
            <label className="inline">
              <input
                type="radio"
                name={`${id}-zone`}
                checked={window.timezone === "contact"}
                onChange={() => set({ timezone: "contact" })}
              />{" "}
              The contact’s own time zone (the workflow’s when they have none)
            </label>
            <label className="inline">
              <input
                type="radio"
                name={`${id}-zone`}
                checked={window.timezone !== "contact"}
                onChange={() => set({ timezone: "UTC" })}
              />{" "}
              One time zone for everyone
            </label>
            {window.timezone !== "contact" && (
              <label>
                Time zone (type to search)
                <input
                  type="text"
                  list={zonesId}
                  value={window.timezone}
                  autoComplete="off"
                  onChange={(event) => set({ timezone: event.target.value })}
                />
                <datalist id={zonesId}>
                  {zones.map((zone) => (
                    <option key={zone} value={zone} />
                  ))}
                </datalist>
              </label>
            )}
          </fieldset>
          <fieldset>
            <legend>Outside the window</legend>
            <label className="inline">
              <input
                type="radio"
                name={`${id}-miss`}
                checked={window.on_miss === "wait"}
                onChange={() => set({ on_miss: "wait" })}
              />{" "}
              Wait until the window next opens
            </label>
            <label className="inline">
              <input
                type="radio"
                name={`${id}-miss`}
                checked={window.on_miss === "send"}
                onChange={() => set({ on_miss: "send" })}
              />{" "}
              Go ahead at once anyway
            </label>
          </fieldset>
          {problems.map((problem) => (
            <p key={problem} className="field-problem" role="alert">
              {problem}
            </p>
          ))}
        </>
      )}
    </fieldset>
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function timeZoneNames(): string[] {
  const names = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return names.includes("UTC") ? names : ["UTC", ...names];
}
