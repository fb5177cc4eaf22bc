// "Preview for": the contact whose data the panel's Liquid previews and the email subject are rendered with.
import { COLLECTIONS } from "./references";
import { Picker } from "./Picker";
import { setPreviewContact, usePreviewContact } from "./previewContact";

const CONTACTS = COLLECTIONS.contacts!;

export function PreviewContactPicker() {
  const contact = usePreviewContact();
  return (
    <section className="preview-contact" aria-label="Preview contact">
      <Picker id="preview-contact" label="Preview for (a contact)" collection={CONTACTS} onPick={setPreviewContact}
              describedBy="preview-contact-chosen" />
      <p id="preview-contact-chosen" className="muted">
        {contact ? (
          <>
            Previews show what <strong>{contact.label}</strong> {contact.detail && `(${contact.detail}) `}would get.{" "}
            <button type="button" className="link-button" onClick={() => setPreviewContact(null)}>
              Stop previewing
            </button>
          </>
        ) : (
          "Search a contact to preview the texts below as they would read for them."
        )}
      </p>
    </section>
  );
}
