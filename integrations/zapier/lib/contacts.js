'use strict';
// A contact as a Zap names it: an email or a PenguinFlow id, whichever the previous step has.

const { read } = require('./client');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The reference the batch endpoints take: `{id}` or `{email}`. */
const contactRef = (value) => {
  const text = String(value || '').trim();
  return UUID.test(text) ? { id: text } : { email: text };
};

/** The contact's id, looking the email up when given one (endpoints under /contacts/{id} need the id). */
const contactId = async (z, bundle, value) => {
  const ref = contactRef(value);
  if (ref.id) {
    return ref.id;
  }
  const page = await read(z, bundle, '/contacts', { email: ref.email, limit: 1 });
  if (!page.results.length) {
    throw new z.errors.Error(`No contact of this workspace has the email ${ref.email}.`, 'not_found', 404);
  }
  return page.results[0].id;
};

const contactField = {
  key: 'contact', label: 'Contact', required: true, type: 'string',
  helpText: "The contact's email or PenguinFlow id.",
};

// What a contact looks like in the Zap editor before a real one was fetched (CONTRACT §4 Contact).
const contactSample = {
  id: '0d4b8f2e-5c6a-4e1b-9a3d-7f8e9c0b1a2d', email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace',
  timezone: 'Europe/London', status: 'subscribed', score: 42, fields: { plan: 'pro' }, tags: ['vip'],
  external_id: null, created_at: '2026-11-01T09:12:00+00:00', updated_at: '2026-11-02T09:12:00+00:00',
};

module.exports = { UUID, contactField, contactId, contactRef, contactSample };
