// Beneath an SMS text (a property marked `"x-sms-segments": true`): how it would travel, GSM-7 or UCS-2 and in how
// many segments, counted by the server (POST /api/v1/sms/segments) on the text as rendered for the preview contact
// when there is one, else as written. What is counted is said, and so is a text too long to be sent.
import { useQuery } from "@tanstack/react-query";
import { api, errorText } from "../api/client";
import type { SmsSegmentsAnswer, SmsSegmentsRequest } from "./apiTypes";
import { useLiquidPreview } from "./LiquidPreview";
import { smsShapeText } from "./smsShape";

export function SmsSegments({ value, id }: { value: string; id?: string }) {
  const { contact, settled, hasLiquid, preview } = useLiquidPreview(value);
  const rendered = hasLiquid && typeof preview.data?.value === "string" ? preview.data.value : null;
  const text = rendered ?? (typeof settled === "string" ? settled : "");
  const shape = useQuery({
    queryKey: ["sms-segments", text],
    queryFn: () => {
      const body: SmsSegmentsRequest = { text };
      return api<SmsSegmentsAnswer>("sms/segments", { method: "POST", body });
    },
    enabled: text !== "",
    retry: false,
    staleTime: 60_000,
  });
  if (text === "") return null;
  const counted = rendered !== null && contact ? `as rendered for ${contact.label}` : hasLiquid ? "as written" : null;
  return (
    <p className="sms-segments" id={id} aria-live="polite" data-testid="sms-segments">
      {shape.error ? (
        <span className="field-problem">{errorText(shape.error)}</span>
      ) : shape.data ? (
        <span className={shape.data.too_long ? "field-problem" : "muted"}>
          {smsShapeText(shape.data)}
          {counted ? ` (${counted})` : ""}
        </span>
      ) : (
        <span className="muted">Counting SMS segments…</span>
      )}
    </p>
  );
}
