// The editor of a property marked `"x-reference": <collection>`: a picker of that collection, the chosen objects
// shown by name (a deleted one said in words), and for a list (notify's `to`) several at once or a fixed option.
import { useQuery } from "@tanstack/react-query";
import type { FieldProps } from "@rjsf/utils";
import { api, ApiError, errorText } from "../api/client";
import type { TemplatePreview } from "./apiTypes";
import { chosenQuery } from "./chosenQuery";
import { Picker } from "./Picker";
import { usePreviewContact } from "./previewContact";
import { type Choice, type Collection, collectionOf, constantLabel, referenceLabel, referenceShape } from "./references";

export function ReferenceField({ schema, formData, onChange, idSchema, name, required }: FieldProps) {
  const collection = collectionOf(schema["x-reference"]);
  const label = referenceLabel(String(schema.title ?? name));
  if (!collection) {
    return (
      <p className="notice notice-error">
        “{label}” names objects the builder cannot list ({String(schema["x-reference"])}): reload the page.
      </p>
    );
  }
  const { multiple, constants } = referenceShape(schema as Record<string, unknown>);
  const constant = typeof formData === "string" && constants.includes(formData) ? formData : null;
  const values: string[] = constant
    ? []
    : multiple
      ? (Array.isArray(formData) ? formData : []).filter((value): value is string => typeof value === "string")
      : typeof formData === "string" && formData
        ? [formData]
        : [];
  const fixed = constants.map((value) => ({ value, label: constantLabel(value) }));
  const pick = (choice: Choice) => {
    if (constants.includes(choice.value)) onChange(choice.value);
    else onChange(multiple ? [...values, choice.value] : choice.value);
  };
  const remove = (value: string) => {
    if (!multiple) return onChange(undefined);
    const rest = values.filter((kept) => kept !== value);
    onChange(rest.length ? rest : undefined);
  };
  const id = idSchema.$id;
  const chosenId = `${id}-chosen`;
  return (
    <div className="reference-field">
      <Picker
        id={id}
        label={`${label}${required ? " (required)" : ""}`}
        collection={collection}
        fixed={fixed}
        exclude={values}
        onPick={pick}
        describedBy={chosenId}
      />
      <div id={chosenId} className="chosen">
        {constant ? (
          <Chosen label={constantLabel(constant)} onRemove={() => onChange(undefined)} removeLabel={constantLabel(constant)} />
        ) : values.length === 0 ? (
          <p className="muted">
            {multiple ? `No ${collection.noun} chosen yet.` : `No ${collection.noun} chosen yet: search one above.`}
          </p>
        ) : (
          values.map((value) => (
            <ChosenObject key={value} collection={collection} value={value} onRemove={() => remove(value)}
                          canRemove={multiple || !required} />
          ))
        )}
      </div>
    </div>
  );
}

function ChosenObject({ collection, value, onRemove, canRemove }: {
  collection: Collection; value: string; onRemove: () => void; canRemove: boolean;
}) {
  const found = useQuery(chosenQuery(collection, value));
  if (found.isPending) return <p className="muted">Loading the chosen {collection.noun}…</p>;
  if (found.error && !(found.error instanceof ApiError && found.error.status === 404)) {
    return <p className="field-problem">The chosen {collection.noun} could not be read: {errorText(found.error)}</p>;
  }
  if (!found.data) {
    const missing = collection.readsOne
      ? `The ${collection.noun} chosen here no longer exists in this workspace (deleted, or a placeholder that was ` +
        `never replaced): the step cannot run. Pick another one above.`
      : `${value} is not a ${collection.noun} of this workspace: the step would fail. Pick one above.`;
    return (
      <div className="notice notice-warning">
        <p>{missing}</p>
        <button type="button" onClick={onRemove}>Remove it</button>
      </div>
    );
  }
  const choice = found.data;
  return (
    <>
      <Chosen label={choice.label} detail={choice.detail} link={collection.link?.(value)} removeLabel={choice.label}
              onRemove={canRemove ? onRemove : undefined} />
      {collection.path === "templates" && <TemplateSubject templateId={value} />}
    </>
  );
}

function Chosen({ label, detail, link, onRemove, removeLabel }: {
  label: string; detail?: string; link?: string; onRemove?: () => void; removeLabel: string;
}) {
  return (
    <p className="chosen-object">
      <strong>{label}</strong>
      {detail && <span className="muted"> {detail}</span>}
      {link && (
        <>
          {" "}
          <a href={link} target="_blank" rel="noreferrer">Open {label}</a>
        </>
      )}
      {onRemove && (
        <button type="button" className="link-button" onClick={onRemove} aria-label={`Remove ${removeLabel}`}>
          Remove
        </button>
      )}
    </p>
  );
}

/** The chosen email template's subject as the preview contact would read it. */
function TemplateSubject({ templateId }: { templateId: string }) {
  const contact = usePreviewContact();
  const preview = useQuery({
    queryKey: ["template-preview", templateId, contact?.value],
    queryFn: () =>
      api<TemplatePreview>(`templates/${encodeURIComponent(templateId)}/preview`, {
        method: "POST",
        body: { contact_id: contact?.value },
      }),
    enabled: Boolean(contact),
    retry: false,
  });
  if (!contact) return <p className="muted">Pick a contact under “Preview for” to see this email’s subject for them.</p>;
  return (
    <div className="liquid-preview" aria-live="polite">
      {preview.error ? (
        <p className="field-problem">{errorText(preview.error)}</p>
      ) : preview.data ? (
        <>
          <span className="muted">Subject for {contact.label}: </span>
          <output className="liquid-rendered">{preview.data.subject}</output>
        </>
      ) : (
        <p className="muted">Rendering the subject…</p>
      )}
    </div>
  );
}
