// Beneath a Liquid field: the text as the step would render it for the contact chosen at the top of the panel
// (POST /api/v1/liquid/preview), refreshed a moment after typing stops; a Liquid mistake is said in words.
import { useQuery } from "@tanstack/react-query";
import { api, errorText } from "../api/client";
import type { LiquidPreviewAnswer, LiquidPreviewRequest } from "./apiTypes";
import { usePreviewContact } from "./previewContact";
import { containsLiquid } from "./schemaUi";
import { useDebounced } from "./useDebounced";

/** The value rendered for the preview contact, once typing has settled (one query, shared by every reader). */
export function useLiquidPreview(value: unknown) {
  const contact = usePreviewContact();
  const settled = useDebounced(value, 400);
  const hasLiquid = containsLiquid(settled);
  const preview = useQuery({
    queryKey: ["liquid-preview", contact?.value, JSON.stringify(settled ?? null)],
    queryFn: () => {
      const body: LiquidPreviewRequest = { value: settled, contact_id: contact?.value ?? "" };
      return api<LiquidPreviewAnswer>("liquid/preview", { method: "POST", body });
    },
    enabled: Boolean(contact) && hasLiquid,
    retry: false,
    staleTime: 10_000,
  });
  return { contact, settled, hasLiquid, preview };
}

export function LiquidPreview({ value, id }: { value: unknown; id?: string }) {
  const { contact, hasLiquid, preview } = useLiquidPreview(value);
  if (!hasLiquid) return null;
  return (
    <div className="liquid-preview" id={id} aria-live="polite">
      {!contact ? (
        <p className="muted">Pick a contact under “Preview for” to see this text as they would.</p>
      ) : preview.error ? (
        <p className="field-problem">{errorText(preview.error)}</p>
      ) : preview.data ? (
        <>
          <span className="muted">For {contact.label}: </span>
          <output className="liquid-rendered">
            {typeof preview.data.value === "string" ? preview.data.value : JSON.stringify(preview.data.value, null, 2)}
          </output>
        </>
      ) : (
        <p className="muted">Rendering the preview…</p>
      )}
    </div>
  );
}
