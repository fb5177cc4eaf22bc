import type { Member } from "./apiTypes";

// The collections a picker lists (the `x-reference` annotation of node-type schemas names one): where they are
// read from, how an object is named, and what a picker stores. Written per collection, never per node type.

export interface Choice {
  /** What the config stores: the object's id, or a member's email address. */
  value: string;
  label: string;
  detail?: string;
}

export interface Collection {
  /** What one object is called, in a sentence ("email template"). */
  noun: string;
  /** The list endpoint under /api/v1/. */
  path: string;
  /** Whether the list endpoint takes `q` (otherwise the picker narrows the first page in the browser). */
  searchable: boolean;
  /** Whether `path/{value}` answers one object (members are looked up by their address instead). */
  readsOne: boolean;
  toChoice: (row: Row) => Choice;
  /** Which objects of the list a picker offers, when the collection is part of one (social accounts among the
   * connectors); the rest are not offered. */
  accepts?: (row: Row) => boolean;
  /** Where the chosen object can be opened, when the builder has a page for it. */
  link?: (value: string) => string;
}

export type Row = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === "string" ? value : value == null ? "" : String(value));

export const COLLECTIONS: Record<string, Collection> = {
  templates: {
    noun: "email template", path: "templates", searchable: false, readsOne: true,
    toChoice: (row) => ({ value: text(row.id), label: text(row.name), detail: text(row.subject) }),
  },
  campaigns: {
    noun: "campaign", path: "campaigns", searchable: true, readsOne: true,
    toChoice: (row) => ({ value: text(row.id), label: text(row.name), detail: text(row.status) }),
  },
  segments: {
    noun: "segment", path: "segments", searchable: false, readsOne: true,
    toChoice: (row) => ({ value: text(row.id), label: text(row.name), detail: text(row.description) }),
  },
  workflows: {
    noun: "workflow", path: "workflows", searchable: true, readsOne: true,
    toChoice: (row) => ({ value: text(row.id), label: text(row.name), detail: text(row.status) }),
    link: (value) => `/builder/workflows/${encodeURIComponent(value)}`,
  },
  members: {
    noun: "member", path: "members", searchable: true, readsOne: false,
    toChoice: (row) => {
      const member = row as Partial<Member>;
      return { value: text(member.email), label: text(member.name) || text(member.email),
               detail: `${text(member.email)} · ${text(member.role)}` };
    },
  },
  credentials: {
    // Names only: the API never answers a credential's secret.
    noun: "credential", path: "credentials", searchable: false, readsOne: true,
    toChoice: (row) => ({ value: text(row.id), label: text(row.name), detail: text(row.description) }),
  },
  social_accounts: {
    // The connectors of the social category (LinkedIn pages, X accounts, Facebook pages); never their secret.
    noun: "social account", path: "connectors", searchable: false, readsOne: true,
    accepts: (row) => row.category === "social",
    toChoice: (row) => ({ value: text(row.id), label: text(row.name), detail: socialDetail(row) }),
  },
  connectors: {
    // The CRM connectors (/api/v1/connectors of category crm): names, kinds and status only; never a secret.
    noun: "CRM connector", path: "connectors", searchable: false, readsOne: true,
    accepts: (row) => row.category === "crm",
    toChoice: (row) => ({ value: text(row.id), label: text(row.name),
                          detail: [text(row.kind), text(row.status)].filter(Boolean).join(" · ") }),
  },
  contacts: {
    noun: "contact", path: "contacts", searchable: true, readsOne: true,
    toChoice: (row) => {
      const name = `${text(row.first_name)} ${text(row.last_name)}`.trim();
      return { value: text(row.id), label: name || text(row.email), detail: text(row.email) };
    },
  },
};

const NETWORKS: Record<string, string> = { linkedin: "LinkedIn page", x: "X", facebook: "Facebook page" };

function socialDetail(row: Row): string {
  const network = NETWORKS[text(row.kind)] ?? text(row.kind);
  return row.status === "needs_attention" ? `${network} · needs attention` : network;
}

/** The choices a picker offers from a page of the collection's list. */
export function choicesOf(collection: Collection, rows: readonly Row[]): Choice[] {
  return rows.filter((row) => collection.accepts?.(row) ?? true).map(collection.toChoice);
}

export function collectionOf(name: unknown): Collection | undefined {
  return typeof name === "string" ? COLLECTIONS[name] : undefined;
}

/** The plural of a collection's noun, for sentences ("email templates"). */
export function plural(collection: Collection): string {
  return `${collection.noun}s`;
}

/**
 * Narrow choices to those whose name, detail or value contains every word of `query` (case-insensitive);
 * names that start with the query come first, the rest keep their order.
 */
export function filterChoices(choices: readonly Choice[], query: string): Choice[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...choices];
  const matching = choices.filter((choice) => {
    const haystack = `${choice.label} ${choice.detail ?? ""} ${choice.value}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
  const starts = (choice: Choice) => choice.label.toLowerCase().startsWith(query.trim().toLowerCase());
  return [...matching.filter(starts), ...matching.filter((choice) => !starts(choice))];
}

/** The list request of a picker: the query goes to the server where it searches, else the first page is read. */
export function listPath(collection: Collection, query: string, limit = 100): string {
  const q = collection.searchable && query.trim() ? `&q=${encodeURIComponent(query.trim())}` : "";
  return `${collection.path}?limit=${limit}${q}`;
}

/** What a reference's schema allows: a list of values (notify's `to`), and fixed options beside (its
 * `"workspace_admins"`), read from the schema's anyOf. */
export function referenceShape(schema: Record<string, unknown>): { multiple: boolean; constants: string[] } {
  const options = (Array.isArray(schema.anyOf) ? schema.anyOf : [schema]) as Record<string, unknown>[];
  const multiple = options.some((option) => option.type === "array");
  const constants = options.flatMap((option) =>
    typeof option.const === "string" ? [option.const] : Array.isArray(option.enum) ? option.enum.map(String) : [],
  );
  return { multiple, constants };
}

/** Names of the fixed options schemas offer beside a collection. */
const CONSTANT_LABELS: Record<string, string> = { workspace_admins: "All workspace admins" };

export function constantLabel(value: string): string {
  return CONSTANT_LABELS[value] ?? value.replaceAll("_", " ");
}

/** "Template Id" → "Template", "Assignee Email" → "Assignee": the field names the object, not its key. */
export function referenceLabel(title: string): string {
  return title.replace(/\s+(Id|Email)$/i, "") || title;
}
