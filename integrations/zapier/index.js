'use strict';
// PenguinFlow's Zapier app: the definition Zapier runs (zapier-platform-core). See docs/integrations.md.

const zapier = require('zapier-platform-core');

const authentication = require('./authentication');
const { includeApiKey, throwForError } = require('./lib/client');
const { creates } = require('./creates/actions');
const { dropdownTriggers } = require('./triggers/dropdowns');
const { eventTriggers } = require('./triggers/events');
const { searches } = require('./searches');
const packageJson = require('./package.json');

const byKey = (items) => Object.fromEntries(items.map((item) => [item.key, item]));

module.exports = {
  version: packageJson.version,
  platformVersion: zapier.version,
  authentication,
  beforeRequest: [includeApiKey],
  afterResponse: [throwForError],
  triggers: byKey([...eventTriggers, ...dropdownTriggers]),
  creates: byKey(creates),
  searches: byKey(searches),
  searchOrCreates: {
    find_contact: {
      key: 'find_contact',
      display: { label: 'Find Contact (Create if Not Found)', description: 'Finds a contact, or creates it.' },
      search: 'find_contact',
      create: 'create_contact',
    },
  },
};
