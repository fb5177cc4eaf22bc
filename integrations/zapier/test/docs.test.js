'use strict';
// docs/integrations.md's section on the app names every trigger's event, every action and every search.

const fs = require('node:fs');
const path = require('node:path');

const App = require('../index');
const { EVENT_TRIGGERS } = require('../triggers/events');

const doc = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'integrations.md'), 'utf8');
const section = doc.slice(doc.indexOf('## The Zapier app'), doc.indexOf('## Running it'));

describe('the Zapier section of docs/integrations.md', () => {
  it.each(EVENT_TRIGGERS.map(([, type]) => type))('names the trigger on %s', (type) => {
    expect(section).toContain(`\`${type}\``);
  });

  it.each(Object.values({ ...App.creates, ...App.searches }).map((action) => action.display.label))(
    'names %s', (label) => {
      expect(section.replace(/\s+/g, ' ')).toContain(label);
    },
  );
});
