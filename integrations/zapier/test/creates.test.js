'use strict';
// Every action against the live server, in an order where each has something to act on (the contact the first
// one creates is tagged, scored... by the next ones); each checks its answer, and what the API shows afterwards.
// tests/integrations/test_zapier_app.py then checks the database.

const { App, apiGet, appTester, bundleWith, seed } = require('./live');
const { ACTIONS } = require('../creates/actions');

const ZAP_EMAIL = 'zap@example.com';
const RULE = '{"in": ["vip", {"var": "contact.tags"}]}';

const run = (key, inputData) => appTester(App.creates[key].operation.perform, bundleWith(inputData));
const contact = async () => (await apiGet(`/contacts?email=${encodeURIComponent(ZAP_EMAIL)}`)).data.results[0];
const workflowStatus = async () => (await apiGet(`/workflows/${seed.workflow_id}`)).data.status;
const campaignStatus = async () => (await apiGet(`/campaigns/${seed.campaign_id}`)).data.status;

// [action key, input (a function: some need what an earlier step made), check(answer)]
const STEPS = [
  ['create_contact', () => ({ email: ZAP_EMAIL, first_name: 'Zed', tags: ['new'], fields: { plan: 'free' } }),
    async (answer) => {
      expect(answer).toMatchObject({ email: ZAP_EMAIL, first_name: 'Zed', tags: ['new'], fields: { plan: 'free' } });
    }],
  ['update_contact', () => ({ contact: ZAP_EMAIL, last_name: 'Lee', first_name: '' }), async (answer) => {
    expect(answer).toMatchObject({ first_name: 'Zed', last_name: 'Lee' });
  }],
  ['find_or_create_contact', () => ({ email: ZAP_EMAIL }), async (answer) => {
    expect(answer).toMatchObject({ email: ZAP_EMAIL, created: false });
  }],
  ['find_or_create_contact', () => ({ email: 'zap2@example.com', first_name: 'Zoe' }), async (answer) => {
    expect(answer).toMatchObject({ email: 'zap2@example.com', first_name: 'Zoe', created: true });
  }],
  ['add_tags', () => ({ contact: ZAP_EMAIL, tags: ['vip', 'zapier'] }), async (answer) => {
    expect(answer.tags.sort()).toEqual(['new', 'vip', 'zapier']);
  }],
  ['remove_tags', async () => ({ contact: (await contact()).id, tags: ['new'] }), async (answer) => {
    expect(answer.tags.sort()).toEqual(['vip', 'zapier']);
  }],
  ['set_field', () => ({ contact: ZAP_EMAIL, field: 'plan', value: 'pro' }), async (answer) => {
    expect(answer.fields).toEqual({ plan: 'pro' });
  }],
  ['unsubscribe_contact', () => ({ contact: ZAP_EMAIL }), async (answer) => {
    expect(answer.status).toBe('unsubscribed');
  }],
  ['change_status', () => ({ contact: ZAP_EMAIL, status: 'subscribed' }), async (answer) => {
    expect(answer.status).toBe('subscribed');
  }],
  ['update_score', () => ({ contact: ZAP_EMAIL, mode: 'set', amount: 10 }), async (answer) => {
    expect(answer.score).toBe(10);
  }],
  ['update_score', () => ({ contact: ZAP_EMAIL, mode: 'delta', amount: 5 }), async (answer) => {
    expect(answer.score).toBe(15);
  }],
  ['record_event', () => ({ type: 'order.completed', contact: ZAP_EMAIL, properties: { total: '12' } }),
    async (answer) => {
      expect(answer).toMatchObject({ accepted: 1, duplicates: 0 });
    }],
  ['enroll_in_workflow', () => ({ workflow: seed.workflow_id, contact: ZAP_EMAIL }), async (answer) => {
    expect(answer).toHaveProperty('enrolled');
    expect(answer.skipped).toEqual([]);
  }],
  ['remove_from_workflow', () => ({ workflow: seed.workflow_id, contact: ZAP_EMAIL }), async (answer) => {
    expect(answer).toBeInstanceOf(Object);
  }],
  ['pause_workflow', () => ({ workflow: seed.workflow_id }), async () => {
    expect(await workflowStatus()).toBe('paused');
  }],
  ['resume_workflow', () => ({ workflow: seed.workflow_id }), async () => {
    expect(await workflowStatus()).toBe('active');
  }],
  ['add_to_campaign', () => ({ campaign: seed.campaign_id, contact: ZAP_EMAIL }), async (answer) => {
    expect(answer.skipped).toEqual([]);
  }],
  ['remove_from_campaign', () => ({ campaign: seed.campaign_id, contact: ZAP_EMAIL }), async (answer) => {
    expect(answer.skipped).toEqual([]);
  }],
  ['start_campaign', () => ({ campaign: seed.campaign_id }), async () => {
    expect(await campaignStatus()).toBe('running');
  }],
  ['pause_campaign', () => ({ campaign: seed.campaign_id }), async () => {
    expect(await campaignStatus()).toBe('paused');
  }],
  ['complete_campaign', () => ({ campaign: seed.campaign_id }), async () => {
    expect(await campaignStatus()).toBe('completed');
  }],
  ['create_task', () => ({ title: 'Call Zed', contact: ZAP_EMAIL }), async (answer) => {
    expect(answer).toMatchObject({ title: 'Call Zed', contact: (await contact()).id });
  }],
  ['send_template_email', () => ({ template: seed.template_id, contact: seed.contact_email }), async (answer) => {
    expect(answer).toHaveProperty('message_id');
  }],
  ['create_segment', () => ({ name: 'Zapier VIPs', rule: RULE }), async (answer) => {
    expect(answer).toMatchObject({ name: 'Zapier VIPs', rule: JSON.parse(RULE) });
  }],
  ['erase_contact', () => ({ contact: 'zap2@example.com' }), async (answer) => {
    expect(answer.erased).toBe(true);
    expect((await apiGet(`/contacts/${answer.id}`)).status).toBe(404);
  }],
];

describe('the actions, one after another', () => {
  it.each(STEPS.map((step, index) => [index + 1, step[0], step]))('%i. %s', async (index, key, [, inputOf, check]) => {
    const answer = await run(key, await inputOf());
    expect(answer).toBeInstanceOf(Object);
    await check(answer);
  });

  it('covered every action', () => {
    expect(new Set(STEPS.map(([key]) => key))).toEqual(new Set(ACTIONS.map(([key]) => key)));
  });
});

describe('refusals, in the server\'s words', () => {
  it('a segment rule that is not JSON', async () => {
    await expect(run('create_segment', { name: 'Broken', rule: '{not json' })).rejects.toThrow(/not valid JSON/);
  });

  it('an action on an email no contact has', async () => {
    await expect(run('add_tags', { contact: 'nobody@example.com', tags: ['x'] }))
      .rejects.toThrow(/No contact of this workspace has the email nobody@example.com/);
  });

  it('a contact that already exists', async () => {
    await expect(run('create_contact', { email: ZAP_EMAIL })).rejects.toThrow(/A contact with this email already exists/);
  });
});
