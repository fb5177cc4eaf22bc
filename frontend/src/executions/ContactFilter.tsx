// The contact filter: people search a contact by name or email (the builder's picker); the filter holds its id.
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Contact } from "../api/types";
import { Picker } from "../panel/Picker";
import { COLLECTIONS } from "../panel/references";
import "../panel/panel.css";

const CONTACTS = COLLECTIONS.contacts!;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ContactFilterProps {
  value: string | undefined;
  onChange: (id: string) => void;
  problem?: string;
}

export function ContactFilter({ value, onChange, problem }: ContactFilterProps) {
  if (!value) {
    return (
      <div className="execution-filter">
        <Picker id="filter-contact" label="Contact" collection={CONTACTS} onPick={(choice) => onChange(choice.value)} />
      </div>
    );
  }
  return (
    <div className="execution-filter" role="group" aria-labelledby="filter-contact-label">
      <span id="filter-contact-label" className="execution-filter-label">
        Contact
      </span>
      <span className="chosen-object">
        <ChosenContact id={value} />
        <button type="button" className="link-button" onClick={() => onChange("")}>
          Any contact
        </button>
      </span>
      {problem && <span className="field-problem">{problem}</span>}
    </div>
  );
}

/** The chosen contact by email (the link or the address bar holds only its id). */
function ChosenContact({ id }: { id: string }) {
  const contact = useQuery({
    queryKey: ["contacts", "by-id", id],
    queryFn: () => api<Contact>(`contacts/${id}`),
    enabled: UUID.test(id),
    staleTime: 60_000,
    retry: false,
  });
  return <strong>{contact.data?.email || id}</strong>;
}
