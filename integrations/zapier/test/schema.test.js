'use strict';
// The app's definition validates against zapier-platform-schema, as `zapier validate` would, without a login.

const { prepareApp, validateApp } = require('zapier-platform-core/src/tools/schema');

const App = require('../index');

describe('the app definition', () => {
  it('validates against zapier-platform-schema', () => {
    expect(validateApp(prepareApp(App))).toEqual([]);
  });

  it('has a dropdown trigger behind every dynamic field', () => {
    const fields = [...Object.values(App.creates), ...Object.values(App.searches)]
      .flatMap((action) => action.operation.inputFields);
    const dynamic = fields.filter((field) => field.dynamic).map((field) => field.dynamic.split('.')[0]);
    expect(dynamic.length).toBeGreaterThan(0);
    for (const key of dynamic) {
      expect(App.triggers[key]).toBeDefined();
      expect(App.triggers[key].display.hidden).toBe(true);
    }
  });

  it('has at least twenty actions', () => {
    expect(Object.keys(App.creates).length).toBeGreaterThanOrEqual(20);
  });
});
