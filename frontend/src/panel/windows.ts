// Delivery windows as the server keeps them (workflows/engine/windows.py `Window`), and what makes one unusable,
// said in words before the server refuses it.

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const WEEKDAY_NAMES: Record<Weekday, string> = {
  mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun",
};

export interface DeliveryWindow {
  days: Weekday[];
  start: string;
  end: string;
  timezone: string;
  on_miss: "wait" | "send";
}

/** The window a step gets when it is switched on: the server's defaults (weekdays, 09:00–17:00, contact's zone). */
export function defaultWindow(): DeliveryWindow {
  return { days: WEEKDAYS.slice(0, 5), start: "09:00", end: "17:00", timezone: "contact", on_miss: "wait" };
}

/** Sentences saying why a window cannot be saved as it is (empty when it can). */
export function windowProblems(window: DeliveryWindow, zones: readonly string[]): string[] {
  const problems: string[] = [];
  if (window.days.length === 0) problems.push("Tick at least one day, or switch the window off.");
  const clock = /^([01]\d|2[0-3]):[0-5]\d$/;
  if (!clock.test(window.start) || !clock.test(window.end)) {
    problems.push("Give both times as hours and minutes, e.g. 09:00.");
  } else if (window.end <= window.start) {
    problems.push("The window must end later the same day than it starts (windows across midnight are not supported).");
  }
  if (window.timezone !== "contact" && !zones.includes(window.timezone)) {
    problems.push(`“${window.timezone}” is not a time zone: pick one from the list, e.g. Europe/Paris.`);
  }
  return problems;
}
