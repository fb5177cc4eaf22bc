// The editor of a string marked `"x-liquid": true`: the text, and beneath it the text rendered for the preview
// contact. Long texts (a message, a description) get a text area.
import type { WidgetProps } from "@rjsf/utils";
import { LiquidPreview } from "./LiquidPreview";
import { SmsSegments } from "./SmsSegments";

const LONG_TEXT = 500;

export function LiquidWidget({ id, value, onChange, schema, required, disabled, readonly, onBlur, onFocus }: WidgetProps) {
  const text = typeof value === "string" ? value : "";
  const maxLength = typeof schema.maxLength === "number" ? schema.maxLength : undefined;
  const previewId = `${id}-preview`;
  // An SMS text also says how it would travel (encoding, segments): the schema asks for it, not the node type.
  const segments = schema["x-sms-segments"] === true;
  const props = {
    id,
    value: text,
    required,
    maxLength,
    disabled: disabled || readonly,
    "aria-describedby": segments ? `${previewId} ${id}-segments` : previewId,
    spellCheck: true,
    onBlur: () => onBlur(id, text),
    onFocus: () => onFocus(id, text),
  };
  const change = (typed: string) => onChange(typed === "" ? undefined : typed);
  return (
    <div className="liquid-widget">
      {maxLength !== undefined && maxLength <= LONG_TEXT ? (
        <input type="text" {...props} onChange={(event) => change(event.target.value)} />
      ) : (
        <textarea rows={4} {...props} onChange={(event) => change(event.target.value)} />
      )}
      <LiquidPreview value={text} id={previewId} />
      {segments && <SmsSegments value={text} id={`${id}-segments`} />}
    </div>
  );
}
