'use strict';
// Searches: find a contact (by email, external id or text), a workflow or a campaign (by name).

const { read } = require('../lib/client');
const { contactSample } = require('../lib/contacts');

const findContact = {
  key: 'find_contact',
  noun: 'Contact',
  display: { label: 'Find Contact', description: 'Finds a contact by email, external id or a piece of text.' },
  operation: {
    inputFields: [
      { key: 'email', label: 'Email' },
      { key: 'external_id', label: 'External id' },
      { key: 'q', label: 'Text', helpText: 'Part of the email or name.' },
    ],
    perform: async (z, bundle) => {
      const { email, external_id: externalId, q } = bundle.inputData;
      if (!email && !externalId && !q) {
        throw new z.errors.Error('Fill in an email, an external id or a text to search for.', 'invalid_input', 400);
      }
      const params = Object.fromEntries(Object.entries({ email, external_id: externalId, q }).filter(([, v]) => v));
      return (await read(z, bundle, '/contacts', { ...params, limit: 10 })).results;
    },
    sample: contactSample,
  },
};

const findByName = (key, noun, path, sample) => ({
  key,
  noun,
  display: { label: `Find ${noun}`, description: `Finds a ${noun.toLowerCase()} by name.` },
  operation: {
    inputFields: [{ key: 'name', label: 'Name', required: true, helpText: 'The name, or part of it.' }],
    perform: async (z, bundle) => (await read(z, bundle, path, { q: bundle.inputData.name, limit: 10 })).results,
    sample,
  },
});

const searches = [
  findContact,
  findByName('find_workflow', 'Workflow', '/workflows',
    { id: '7d8e9f00-0000-4000-8000-000000000001', name: 'Welcome series', status: 'active' }),
  findByName('find_campaign', 'Campaign', '/campaigns',
    { id: '7d8e9f00-0000-4000-8000-000000000002', name: 'Black Friday', status: 'draft' }),
];

module.exports = { searches };
