'use strict';
// Hidden triggers that fill the dynamic dropdowns (workflow, campaign, template, tag): each reads a list API.

const { read, readAll } = require('../lib/client');

const listTrigger = (key, noun, perform, sample) => ({
  key,
  noun,
  display: { label: `List ${noun}s`, description: `Lists the workspace's ${noun.toLowerCase()}s.`, hidden: true },
  operation: { perform, sample },
});

const byName = (items) => items.map((item) => ({ id: item.id, name: item.name, status: item.status }));

const dropdownTriggers = [
  listTrigger('workflow_list', 'Workflow', async (z, bundle) => byName(await readAll(z, bundle, '/workflows')),
    { id: '7d8e9f00-0000-4000-8000-000000000001', name: 'Welcome series', status: 'active' }),
  listTrigger('campaign_list', 'Campaign', async (z, bundle) => byName(await readAll(z, bundle, '/campaigns')),
    { id: '7d8e9f00-0000-4000-8000-000000000002', name: 'Black Friday', status: 'draft' }),
  listTrigger('template_list', 'Template', async (z, bundle) => byName(await readAll(z, bundle, '/templates')),
    { id: '7d8e9f00-0000-4000-8000-000000000003', name: 'Welcome email' }),
  // Tags have no id of their own: the name is the id a dropdown keeps.
  listTrigger('tag_list', 'Tag', async (z, bundle) => (await read(z, bundle, '/contacts/tags')).results
    .map((tag) => ({ id: tag.name, name: tag.name, contacts: tag.contacts })),
  { id: 'vip', name: 'vip', contacts: 3 }),
];

module.exports = { dropdownTriggers };
