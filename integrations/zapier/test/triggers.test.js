'use strict';
// Each event trigger against the live server: its samples (performList, the polling fallback) are the seeded real
// events in the hook's envelope, newest first with unique ids; subscribing makes a REST hook and unsubscribing
// deletes it.

const { App, apiGet, appTester, bundleWith } = require('./live');
const { EVENT_TRIGGERS } = require('../triggers/events');

const ENVELOPE_KEYS = ['data', 'id', 'occurred_at', 'type', 'workspace_id'];

const cases = [
  ...EVENT_TRIGGERS.map(([key, type]) => [key, type, {}]),
  ['custom_event', 'order.completed', { event_type: 'order.completed' }],
];

describe.each(cases)('the %s trigger (%s)', (key, type, inputData) => {
  const trigger = App.triggers[key];

  it('lists recent real events shaped like the hook payload', async () => {
    const samples = await appTester(trigger.operation.performList, bundleWith(inputData));
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(new Set(samples.map((sample) => sample.id)).size).toBe(samples.length);
    for (const sample of samples) {
      expect(Object.keys(sample).sort()).toEqual(ENVELOPE_KEYS);
      expect(sample.type).toBe(type);
      expect(sample.data.type).toBe(type);
    }
    const times = samples.map((sample) => sample.occurred_at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('subscribes a REST hook and unsubscribes it', async () => {
    const targetUrl = `http://127.0.0.1:9/zapier/${key}`;
    const subscribeData = await appTester(trigger.operation.performSubscribe, bundleWith(inputData, { targetUrl }));
    const made = await apiGet(`/webhooks/${subscribeData.id}`);
    expect(made.status).toBe(200);
    expect(made.data.url).toBe(targetUrl);
    expect(made.data.events).toEqual([type]);
    expect(subscribeData).not.toHaveProperty('secret');

    await appTester(trigger.operation.performUnsubscribe, bundleWith(inputData, { subscribeData }));
    expect((await apiGet(`/webhooks/${subscribeData.id}`)).status).toBe(404);
  });

  it('passes a delivered envelope on as the trigger item', async () => {
    const [sample] = await appTester(trigger.operation.performList, bundleWith(inputData));
    const items = await appTester(trigger.operation.perform, bundleWith(inputData, { cleanedRequest: sample }));
    expect(items).toEqual([sample]);
  });
});

describe('a custom event trigger on a type the workspace never recorded', () => {
  it('is refused with the server\'s reason', async () => {
    const bundle = bundleWith({ event_type: 'never.seen' }, { targetUrl: 'http://127.0.0.1:9/zapier/never' });
    await expect(appTester(App.triggers.custom_event.operation.performSubscribe, bundle))
      .rejects.toThrow(/never\.seen/);
  });
});
