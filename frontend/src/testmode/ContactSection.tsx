import { useState } from "react";
import { useContactSearch } from "../api/queries";
import { ErrorNotice } from "../components/ErrorNotice";
import { FieldProblem, problemId, problemProps } from "./FieldProblem";
import { KeyValueRows } from "./KeyValueRows";
import { draftOfContact, type ContactDraft, type FieldProblems } from "./script";

const STATUSES: ContactDraft["status"][] = ["subscribed", "unsubscribed", "bounced", "complained"];

// The browser's own list of IANA zones, offered as suggestions; the server checks the name either way.
const TIME_ZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  } catch {
    return [];
  }
})();

interface ContactSectionProps {
  contact: ContactDraft;
  problems: FieldProblems;
  onChange: (contact: ContactDraft) => void;
}

/** The contact the test runs for: described here, or filled in from an existing contact. */
export function ContactSection({ contact, problems, onChange }: ContactSectionProps) {
  const [picking, setPicking] = useState(false);
  const [query, setQuery] = useState("");
  const [pickedFrom, setPickedFrom] = useState<string | null>(null);
  const search = useContactSearch(picking ? query : "");
  const set = (change: Partial<ContactDraft>) => onChange({ ...contact, ...change });
  const field = (path: keyof ContactDraft) => `contact.${path}`;

  return (
    <section className="test-section" aria-labelledby="test-contact-heading">
      <h3 id="test-contact-heading">Contact</h3>
      <div className="test-choice" role="group" aria-label="Where the contact comes from">
        <button type="button" aria-pressed={!picking} onClick={() => setPicking(false)}>
          Describe a contact
        </button>
        <button type="button" aria-pressed={picking} onClick={() => setPicking(true)}>
          Pick an existing one
        </button>
      </div>
      {picking && (
        <div className="test-pick">
          <label htmlFor="test-contact-search">Search contacts by email or name</label>
          <input
            id="test-contact-search"
            type="search"
            value={query}
            onChange={(event) => setQuery(event.target.value)}
            placeholder="ada@"
          />
          <ErrorNotice error={search.error} onRetry={() => void search.refetch()} />
          {search.data && search.data.length === 0 && <p className="muted">No contact matches “{query}”.</p>}
          {search.data && search.data.length > 0 && (
            <ul className="test-pick-results" aria-label="Matching contacts">
              {search.data.map((found) => (
                <li key={found.id}>
                  <button
                    type="button"
                    onClick={() => {
                      onChange(draftOfContact(found));
                      setPickedFrom(found.email);
                      setPicking(false);
                    }}
                  >
                    Use {found.email}
                    {found.first_name || found.last_name ? ` (${[found.first_name, found.last_name].join(" ").trim()})` : ""}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {!picking && (
        <>
          {pickedFrom && (
            <p className="muted">
              Filled in from {pickedFrom}: the test runs on these attributes, not on the contact's stored history, and
              changes nothing of it.
            </p>
          )}
          <label htmlFor="test-contact-email">Email</label>
          <input
            id="test-contact-email"
            type="email"
            value={contact.email}
            onChange={(event) => set({ email: event.target.value })}
            {...problemProps(problemId(field("email")), problems[field("email")])}
          />
          <FieldProblem id={problemId(field("email"))} problem={problems[field("email")]} />
          <label htmlFor="test-contact-first-name">First name</label>
          <input
            id="test-contact-first-name"
            value={contact.first_name}
            onChange={(event) => set({ first_name: event.target.value })}
          />
          <label htmlFor="test-contact-timezone">Time zone</label>
          <input
            id="test-contact-timezone"
            list="test-time-zones"
            placeholder="the workflow's (e.g. Europe/Paris)"
            value={contact.timezone}
            onChange={(event) => set({ timezone: event.target.value })}
            {...problemProps(problemId(field("timezone")), problems[field("timezone")])}
          />
          <datalist id="test-time-zones">
            {TIME_ZONES.map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
          <FieldProblem id={problemId(field("timezone"))} problem={problems[field("timezone")]} />
          <label htmlFor="test-contact-status">Status</label>
          <select
            id="test-contact-status"
            value={contact.status}
            onChange={(event) => set({ status: event.target.value as ContactDraft["status"] })}
          >
            {STATUSES.map((status) => (
              <option key={status}>{status}</option>
            ))}
          </select>
          <label htmlFor="test-contact-tags">Tags (separated by commas)</label>
          <input
            id="test-contact-tags"
            value={contact.tags}
            placeholder="trial, newsletter"
            onChange={(event) => set({ tags: event.target.value })}
            {...problemProps(problemId(field("tags")), problems[field("tags")])}
          />
          <FieldProblem id={problemId(field("tags"))} problem={problems[field("tags")]} />
          <KeyValueRows
            legend="Fields"
            noun="field"
            path="contact.fields"
            rows={contact.fields}
            problems={problems}
            onChange={(fields) => set({ fields })}
          />
        </>
      )}
    </section>
  );
}
