'use strict';
// The event triggers, as data: each is a REST hook (subscribe on Zap on, unsubscribe on Zap off) on one event type
// of CONTRACT §3, with the workspace's latest real events of that type as its samples and polling fallback.
// docs/integrations.md lists the same triggers.

const { change, read } = require('../lib/client');

const EVENT_TRIGGERS = [
  ['contact_created', 'contact.created', 'New Contact', 'a contact is created'],
  ['contact_updated', 'contact.updated', 'Updated Contact', 'a contact changes (properties.changes says how)'],
  ['contact_tagged', 'contact.tagged', 'Tag Added to Contact', 'a contact gets a tag'],
  ['contact_untagged', 'contact.untagged', 'Tag Removed from Contact', 'a contact loses a tag'],
  ['email_delivered', 'email.delivered', 'Email Delivered', 'an email reaches a contact'],
  ['email_opened', 'email.opened', 'Email Opened', 'a contact opens an email'],
  ['email_clicked', 'email.clicked', 'Email Link Clicked', 'a contact clicks a link in an email'],
  ['email_bounced', 'email.bounced', 'Email Bounced', 'an email bounces (properties.bounce_type: hard or soft)'],
  ['email_unsubscribed', 'email.unsubscribed', 'Unsubscribed from Email', 'a contact unsubscribes from an email'],
  ['email_complained', 'email.complained', 'Spam Complaint', 'a contact marks an email as spam'],
  ['form_submitted', 'form.submitted', 'Form Submitted', 'a contact submits a form'],
  ['segment_entered', 'segment.entered', 'Contact Entered Segment', 'a contact enters a segment'],
  ['segment_exited', 'segment.exited', 'Contact Left Segment', 'a contact leaves a segment'],
  ['workflow_enrolled', 'workflow.enrolled', 'Contact Entered Workflow', 'a contact is enrolled in a workflow'],
  ['workflow_completed', 'workflow.completed', 'Workflow Completed', 'a contact completes a workflow'],
  ['workflow_exited', 'workflow.exited', 'Contact Exited Workflow', 'a contact exits a workflow early'],
  ['workflow_failed', 'workflow.failed', 'Workflow Failed', "a contact's run of a workflow fails"],
  ['campaign_contact_added', 'campaign.contact_added', 'Contact Added to Campaign', 'a contact joins a campaign'],
  ['campaign_started', 'campaign.started', 'Campaign Started', 'a campaign starts'],
  ['campaign_completed', 'campaign.completed', 'Campaign Completed', 'a campaign is completed'],
];

// A sample for the Zap editor when the workspace has no event of the type yet: the envelope of docs/integrations.md.
const sampleOf = (type) => ({
  id: 'msg_5f1c0d9e8b7a6f5e4d3c2b1a09876543',
  type,
  occurred_at: '2026-11-22T10:00:00Z',
  workspace_id: '6f9c1e2a-3b4d-4c5e-8f70-1a2b3c4d5e6f',
  data: {
    id: 81234, type, contact_id: '0d4b8f2e-5c6a-4e1b-9a3d-7f8e9c0b1a2d', occurred_at: '2026-11-22T10:00:00Z',
    received_at: '2026-11-22T10:00:00.412Z', properties: {}, source: 'api', client_id: null,
    processed_at: '2026-11-22T10:00:00.530Z',
    contact: {
      id: '0d4b8f2e-5c6a-4e1b-9a3d-7f8e9c0b1a2d', email: 'ada@example.com', first_name: 'Ada',
      last_name: 'Lovelace', timezone: 'Europe/London', status: 'subscribed', score: 42, fields: { plan: 'pro' },
      tags: ['vip'], external_id: null, created_at: '2026-11-01T09:12:00+00:00',
    },
  },
});

/** The operation of a REST-hook trigger on the event type `eventOf(bundle)`. */
const hookOperation = (eventOf, { inputFields = [], sampleType }) => ({
  type: 'hook',
  inputFields,
  performSubscribe: async (z, bundle) => {
    const { data } = await change(z, bundle, 'POST', '/webhooks',
      { target_url: bundle.targetUrl, event: eventOf(bundle) });
    // Kept by Zapier as bundle.subscribeData; the signing secret is left out (Zapier does not check signatures).
    const { secret, ...subscription } = data; // eslint-disable-line no-unused-vars
    return subscription;
  },
  performUnsubscribe: async (z, bundle) => {
    await change(z, bundle, 'DELETE', `/webhooks/${bundle.subscribeData.id}`);
    return { id: bundle.subscribeData.id, unsubscribed: true };
  },
  // A delivery's body is the envelope, the same shape as the samples below.
  perform: (z, bundle) => [bundle.cleanedRequest],
  performList: (z, bundle) => read(z, bundle, '/webhooks/samples', { event: eventOf(bundle) }),
  sample: sampleOf(sampleType),
});

const eventTrigger = ([key, type, label, when]) => ({
  key,
  noun: type.startsWith('campaign.') && !type.includes('contact') ? 'Campaign' : 'Contact',
  display: { label, description: `Triggers when ${when}.` },
  operation: hookOperation(() => type, { sampleType: type }),
});

// Any event type: a custom one the workspace records (`order.completed`) or one of the catalogue.
const customEventTrigger = {
  key: 'custom_event',
  noun: 'Event',
  display: {
    label: 'Custom Event',
    description: 'Triggers when an event of the type you name is recorded (e.g. order.completed).',
  },
  operation: hookOperation((bundle) => bundle.inputData.event_type, {
    sampleType: 'order.completed',
    inputFields: [{
      key: 'event_type', label: 'Event type', required: true, type: 'string',
      helpText: 'One event type, e.g. `order.completed`. A custom type is accepted once the workspace has ' +
        'recorded an event of that type.',
    }],
  }),
};

module.exports = { EVENT_TRIGGERS, eventTriggers: [...EVENT_TRIGGERS.map(eventTrigger), customEventTrigger] };
