import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { ErrorNotice } from "../components/ErrorNotice";
import { useContactList, type ContactListFilters, type ContactStatus } from "./contactQueries";
import { CONTACT_STATUS_WORDS, contactName } from "./timelineLogic";
import "./contacts.css";

/** Find a contact by email, name, tag or status; the filters live in the address, so "back" comes back here. */
export function ContactsSearch() {
  const [params, setParams] = useSearchParams();
  const filters: ContactListFilters = {
    q: params.get("q") ?? "",
    status: (params.get("status") ?? "") as ContactListFilters["status"],
    tag: params.get("tag") ?? "",
  };
  const [draft, setDraft] = useState(filters);
  const contacts = useContactList(filters);
  const rows = contacts.data?.pages.flatMap((page) => page.results) ?? [];
  const apply = (next: ContactListFilters) => {
    const entries = Object.entries(next).filter(([, value]) => value.trim() !== "");
    setParams(new URLSearchParams(entries.map(([name, value]) => [name, value.trim()])));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(draft);
  };
  return (
    <main className="list-page">
      <header className="page-header">
        <h1>Contacts</h1>
      </header>
      <form className="list-filters" role="search" aria-label="Find contacts" onSubmit={submit}>
        <div>
          <label htmlFor="contact-q">Email or name</label>
          <input id="contact-q" type="search" value={draft.q} onChange={(event) => setDraft({ ...draft, q: event.target.value })} />
        </div>
        <div>
          <label htmlFor="contact-tag">Tag</label>
          <input id="contact-tag" value={draft.tag} onChange={(event) => setDraft({ ...draft, tag: event.target.value })} />
        </div>
        <div>
          <label htmlFor="contact-status">Status</label>
          <select
            id="contact-status"
            value={draft.status}
            onChange={(event) => {
              const next = { ...draft, status: event.target.value as "" | ContactStatus };
              setDraft(next);
              apply(next);
            }}
          >
            <option value="">Any</option>
            {Object.entries(CONTACT_STATUS_WORDS).map(([value, words]) => (
              <option key={value} value={value}>
                {words.label}
              </option>
            ))}
          </select>
        </div>
        <div className="filters-submit">
          <button type="submit" className="primary">
            Search
          </button>
        </div>
      </form>
      <ErrorNotice error={contacts.error} onRetry={() => void contacts.refetch()} />
      {contacts.isPending && <p className="muted">Loading contacts…</p>}
      {contacts.data && rows.length === 0 && (
        <p className="empty">
          {filters.q || filters.tag || filters.status ? "No contact matches this search." : "No contacts yet."}
        </p>
      )}
      {rows.length > 0 && (
        <table className="workflow-table" aria-label="Contacts">
          <thead>
            <tr>
              <th scope="col">Contact</th>
              <th scope="col">Status</th>
              <th scope="col">Tags</th>
              <th scope="col">Added</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((contact) => (
              <tr key={contact.id}>
                <td>
                  <Link to={`/contacts/${contact.id}`}>{contactName(contact)}</Link>
                  {contactName(contact) !== contact.email && <div className="muted">{contact.email}</div>}
                </td>
                <td>{CONTACT_STATUS_WORDS[contact.status ?? "subscribed"].label}</td>
                <td>{contact.tags?.join(", ")}</td>
                <td>{new Date(contact.created_at).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {contacts.hasNextPage && (
        <button type="button" onClick={() => void contacts.fetchNextPage()} disabled={contacts.isFetchingNextPage}>
          {contacts.isFetchingNextPage ? "Loading more…" : "Load more"}
        </button>
      )}
    </main>
  );
}
