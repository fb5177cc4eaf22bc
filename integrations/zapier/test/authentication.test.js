'use strict';

const { App, appTester, bundleWith, seed } = require('./live');

describe('authentication', () => {
  it('tests the connection with GET /me', async () => {
    const me = await appTester(App.authentication.test, bundleWith());
    expect(me.workspace.slug).toBe(seed.workspace_slug);
    expect(me.key.label).toBe(seed.key_label);
  });

  it('labels the connection with the workspace and the key', async () => {
    const me = await appTester(App.authentication.test, bundleWith());
    const label = await appTester(App.authentication.connectionLabel, bundleWith(me));
    expect(label).toBe(`${seed.workspace_name} (${seed.key_label})`);
  });

  it('says in words that a wrong key was refused', async () => {
    const bundle = bundleWith();
    bundle.authData.api_key = 'pf_not-a-real-key';
    await expect(appTester(App.authentication.test, bundle)).rejects.toThrow(/API key was refused/);
  });
});
