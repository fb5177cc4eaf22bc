import { Link, useParams } from "react-router";
import { ApiError } from "../api/client";
import type { Contact } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { LiveIndicator } from "../live/LiveIndicator";
import { useLiveUpdates } from "../live/useLiveUpdates";
import { ContactEnrollments, Moment } from "./ContactEnrollments";
import { ContactTimeline } from "./ContactTimeline";
import { contactKeys, useContact } from "./contactQueries";
import { CONTACT_STATUS_WORDS, contactName } from "./timelineLogic";
import { useNamed } from "./useNamed";
import "./contacts.css";

/**
 * One contact, for whoever asks "why did this person get that email?": who it is and whether it may be emailed,
 * where it stands in its workflows now, and everything that happened to it, newest first.
 */
export function ContactPage() {
  const { contactId = "" } = useParams();
  const contact = useContact(contactId);
  const { named, workflows } = useNamed();
  // The workspace's socket: a message does not say whose executions moved, and an enrollment that starts now is
  // in a workflow this page did not know of, so any message refreshes the page's reads (at most once a second);
  // the contact too, as its workflows change its tags and fields.
  const live = useLiveUpdates("/ws/workspace/", [
    contactKeys.contact(contactId),
    contactKeys.timelineOf(contactId),
    contactKeys.enrollments(contactId),
  ]);
  return (
    <main className="contact-page">
      <p className="back-link">
        <Link to="/contacts">← Contacts</Link>
      </p>
      <header className="page-header">
        <div className="page-title">
          <h1>{contact.data ? contactName(contact.data) : "Contact"}</h1>
          <LiveIndicator status={live} />
        </div>
      </header>
      {contact.error instanceof ApiError && contact.error.status === 404 ? (
        <p className="empty">There is no such contact in this workspace: it may have been erased. Find it from Contacts.</p>
      ) : (
        <ErrorNotice error={contact.error} onRetry={() => void contact.refetch()} />
      )}
      {contact.isPending && <p className="muted">Loading the contact…</p>}
      {contact.data && (
        <div className="contact-layout">
          <ContactProfile contact={contact.data} />
          <div className="contact-main">
            <ContactEnrollments contactId={contactId} named={named} />
            <ContactTimeline contactId={contactId} named={named} workflows={workflows} />
          </div>
        </div>
      )}
    </main>
  );
}

function ContactProfile({ contact }: { contact: Contact }) {
  const status = CONTACT_STATUS_WORDS[contact.status ?? "subscribed"];
  const fields = Object.entries(contact.fields ?? {});
  return (
    <section className="contact-section contact-profile" aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <dl>
        <dt>Email</dt>
        <dd>{contact.email}</dd>
        <dt>Name</dt>
        <dd>{[contact.first_name, contact.last_name].filter(Boolean).join(" ") || <span className="muted">—</span>}</dd>
        <dt>Consent</dt>
        <dd>
          <span className={`status consent-${contact.status}`}>{status.label}</span>
          <div className="muted">{status.meaning}</div>
        </dd>
        <dt>Tags</dt>
        <dd>
          {contact.tags?.length ? (
            <ul className="tag-list" aria-label="Tags">
              {contact.tags.map((tag) => (
                <li key={tag} className="tag">
                  {tag}
                </li>
              ))}
            </ul>
          ) : (
            <span className="muted">No tags</span>
          )}
        </dd>
        <dt>Time zone</dt>
        <dd>{contact.timezone || <span className="muted">The workflow’s</span>}</dd>
        <dt>Score</dt>
        <dd>{contact.score ?? 0}</dd>
        {contact.external_id && (
          <>
            <dt>External id</dt>
            <dd>
              <code>{contact.external_id}</code>
            </dd>
          </>
        )}
        <dt>Added</dt>
        <dd>
          <Moment at={contact.created_at} />
        </dd>
        <dt>Last changed</dt>
        <dd>
          <Moment at={contact.updated_at} />
        </dd>
      </dl>
      <h3>Fields</h3>
      {fields.length === 0 ? (
        <p className="muted">No custom fields.</p>
      ) : (
        <dl className="contact-fields">
          {fields.map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{typeof value === "string" ? value : JSON.stringify(value)}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
