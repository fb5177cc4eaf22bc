'use strict';

const { App, appTester, bundleWith, seed } = require('./live');

const search = (key, inputData) => appTester(App.searches[key].operation.perform, bundleWith(inputData));

describe('searches', () => {
  it('find a contact by email', async () => {
    const found = await search('find_contact', { email: seed.contact_email });
    expect(found.map((contact) => contact.id)).toEqual([seed.contact_id]);
  });

  it('find nothing for an unknown email (an empty list, not an error)', async () => {
    expect(await search('find_contact', { email: 'nobody@example.com' })).toEqual([]);
  });

  it('refuse a contact search with nothing to search for', async () => {
    await expect(search('find_contact', {})).rejects.toThrow(/Fill in an email/);
  });

  it('find a workflow by part of its name', async () => {
    const found = await search('find_workflow', { name: 'welcome' });
    expect(found.map((workflow) => workflow.id)).toContain(seed.workflow_id);
  });

  it('find a campaign by part of its name', async () => {
    const found = await search('find_campaign', { name: 'launch' });
    expect(found.map((campaign) => campaign.id)).toContain(seed.campaign_id);
  });
});
