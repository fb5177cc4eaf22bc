'use strict';
// The hidden triggers behind the dynamic dropdowns list what the live workspace holds.

const { App, appTester, bundleWith, seed } = require('./live');

describe.each([
  ['workflow_list', () => seed.workflow_id, 'Zapier welcome'],
  ['campaign_list', () => seed.campaign_id, 'Zapier launch'],
  ['template_list', () => seed.template_id, 'Zapier hello'],
  ['tag_list', () => 'vip', 'vip'],
])('the %s dropdown', (key, idOf, name) => {
  it('offers the seeded item by its id and name', async () => {
    const items = await appTester(App.triggers[key].operation.perform, bundleWith());
    expect(items).toEqual(expect.arrayContaining([expect.objectContaining({ id: idOf(), name })]));
    expect(new Set(items.map((item) => item.id)).size).toBe(items.length);
  });
});
