import type { SmsSegmentsAnswer } from "./apiTypes";

const plural = (count: number, one: string) => `${count.toLocaleString("en")} ${one}${count === 1 ? "" : "s"}`;

/** One sentence for an SMS text's shape: encoding (and why UCS-2), segments, characters; what to do if too long. */
export function smsShapeText(shape: SmsSegmentsAnswer): string {
  const why = shape.encoding === "UCS-2" && shape.non_gsm.length
    ? ` because of ${shape.non_gsm.slice(0, 3).map((ch) => `“${ch}”`).join(", ")}`
    : "";
  const sentence = `${shape.encoding}${why} · ${plural(shape.segments, "segment")} · ${plural(shape.characters, "character")}`;
  if (!shape.too_long) return sentence;
  return `${sentence}: too long to send (at most ${plural(shape.max_segments, "segment")} and ` +
    `${shape.max_characters.toLocaleString("en")} characters); shorten the text.`;
}
