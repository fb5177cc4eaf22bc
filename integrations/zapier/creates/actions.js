'use strict';
// The actions (docs/integrations-actions.md), as data: each names its input fields and the request it sends;
// `change` sends it with an Idempotency-Key. Each answers an object, as Zapier wants of a create.

const { change } = require('../lib/client');
const { contactField, contactId, contactRef, contactSample } = require('../lib/contacts');

const workflowField = { key: 'workflow', label: 'Workflow', required: true, dynamic: 'workflow_list.id.name' };
const campaignField = { key: 'campaign', label: 'Campaign', required: true, dynamic: 'campaign_list.id.name' };
const templateField = { key: 'template', label: 'Email template', required: true, dynamic: 'template_list.id.name' };
const tagsField = {
  key: 'tags', label: 'Tags', required: true, list: true, dynamic: 'tag_list.id.name',
  helpText: 'Pick tags in use, or type new ones.', altersDynamicFields: false,
};
const WORKFLOW = { id: '7d8e9f00-0000-4000-8000-000000000001', name: 'Welcome series', status: 'paused' };
const CAMPAIGN = { id: '7d8e9f00-0000-4000-8000-000000000002', name: 'Black Friday', status: 'running' };
const STATUSES = ['subscribed', 'unsubscribed', 'bounced', 'complained'];

const contactDetails = [
  { key: 'first_name', label: 'First name' },
  { key: 'last_name', label: 'Last name' },
  { key: 'timezone', label: 'Time zone', helpText: 'IANA name, e.g. `Europe/Paris`.' },
  { key: 'external_id', label: 'External id', helpText: "The contact's id in your other system." },
  { key: 'fields', label: 'Custom fields', dict: true },
];

/** The body of a contact from the fields filled in (empty ones left out: they keep their values). */
const contactBody = (input, keys) => Object.fromEntries(keys
  .filter((key) => input[key] !== undefined && input[key] !== null && input[key] !== '')
  .map((key) => [key, input[key]]));

const DETAIL_KEYS = ['email', 'first_name', 'last_name', 'timezone', 'external_id', 'fields', 'tags', 'status'];

const onContact = (suffix, method, bodyOf) => async (z, bundle) => {
  const id = await contactId(z, bundle, bundle.inputData.contact);
  return change(z, bundle, method, `/contacts/${id}${suffix}`, bodyOf(bundle.inputData));
};

const refs = (input) => ({ contacts: [contactRef(input.contact)] });

const parseRule = (z, text) => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new z.errors.Error(`The rule is not valid JSON (${error.message}): write it as JSON Logic, e.g. ` +
      '{"in": ["vip", {"var": "contact.tags"}]}.', 'invalid_rule', 400);
  }
};

// [key, noun, label, description, inputFields, send(z, bundle) → {status, data}, sample]
const ACTIONS = [
  ['create_contact', 'Contact', 'Create Contact', 'Creates a contact.',
    [{ ...contactField, key: 'email', label: 'Email', helpText: 'The new contact\'s email.' }, ...contactDetails,
      { key: 'tags', label: 'Tags', list: true, dynamic: 'tag_list.id.name' },
      { key: 'status', label: 'Status', choices: STATUSES }],
    (z, bundle) => change(z, bundle, 'POST', '/contacts', contactBody(bundle.inputData, DETAIL_KEYS)), contactSample],
  ['update_contact', 'Contact', 'Update Contact', "Changes a contact's details; empty fields keep their values.",
    [contactField, ...contactDetails],
    onContact('', 'PATCH', (input) => contactBody(input, DETAIL_KEYS.filter((key) => key !== 'email'))),
    contactSample],
  ['find_or_create_contact', 'Contact', 'Find or Create Contact',
    'Finds the contact with this email, or creates it (`created` says which).',
    [{ ...contactField, key: 'email', label: 'Email' }, ...contactDetails],
    (z, bundle) => change(z, bundle, 'POST', '/contacts/find-or-create', contactBody(bundle.inputData, DETAIL_KEYS)),
    { ...contactSample, created: false }],
  ['add_tags', 'Contact', 'Add Tags to Contact', 'Adds tags to a contact.', [contactField, tagsField],
    onContact('/tags', 'POST', (input) => ({ add: input.tags })), contactSample],
  ['remove_tags', 'Contact', 'Remove Tags from Contact', 'Removes tags from a contact.', [contactField, tagsField],
    onContact('/tags', 'POST', (input) => ({ remove: input.tags })), contactSample],
  ['set_field', 'Contact', 'Set Contact Field', "Sets one of a contact's custom fields (empty: removes it).",
    [contactField, { key: 'field', label: 'Field', required: true }, { key: 'value', label: 'Value' }],
    onContact('/set-field', 'POST', (input) => ({ field: input.field, value: input.value ?? null })), contactSample],
  ['change_status', 'Contact', 'Change Contact Status', "Changes a contact's subscription status.",
    [contactField, { key: 'status', label: 'Status', required: true, choices: STATUSES }],
    onContact('', 'PATCH', (input) => ({ status: input.status })), contactSample],
  ['update_score', 'Contact', 'Update Contact Score', "Adds to a contact's score, or sets it.",
    [contactField, { key: 'mode', label: 'How', required: true, choices: { delta: 'Add', set: 'Set' }, default: 'delta' },
      { key: 'amount', label: 'Amount', required: true, type: 'integer', helpText: 'Negative to lower the score.' }],
    onContact('/score', 'POST', (input) => ({ [input.mode === 'set' ? 'set' : 'delta']: Number(input.amount) })),
    contactSample],
  ['unsubscribe_contact', 'Contact', 'Unsubscribe Contact', 'Unsubscribes a contact from email.', [contactField],
    onContact('/unsubscribe', 'POST', () => undefined), contactSample],
  ['erase_contact', 'Contact', 'Erase Contact',
    'Erases a contact for good: details, events and enrollments go; a hashed suppression entry stays.', [contactField],
    async (z, bundle) => {
      const id = await contactId(z, bundle, bundle.inputData.contact);
      await change(z, bundle, 'DELETE', `/contacts/${id}`);
      return { data: { id, erased: true } };
    }, { id: contactSample.id, erased: true }],
  ['record_event', 'Event', 'Record Custom Event',
    'Records an event for a contact (an unknown email creates the contact); workflows can start on it.',
    [{ key: 'type', label: 'Event type', required: true, helpText: 'e.g. `order.completed`.' },
      { ...contactField, helpText: "The contact's email or PenguinFlow id." },
      { key: 'properties', label: 'Properties', dict: true },
      { key: 'event_id', label: 'Event id', helpText: 'Your own id for the event: a repeat of it is ignored.' }],
    (z, bundle) => {
      const input = bundle.inputData;
      const body = { type: input.type, contact: contactRef(input.contact), properties: input.properties || {} };
      return change(z, bundle, 'POST', '/events', input.event_id ? { ...body, id: input.event_id } : body);
    }, { accepted: 1, duplicates: 0, rejected: [] }],
  ['enroll_in_workflow', 'Enrollment', 'Enroll Contact in Workflow', 'Starts a workflow for a contact.',
    [workflowField, contactField],
    (z, bundle) => change(z, bundle, 'POST', `/workflows/${bundle.inputData.workflow}/enroll`, refs(bundle.inputData)),
    { enrolled: 1, skipped: [] }],
  ['remove_from_workflow', 'Enrollment', 'Remove Contact from Workflow', "Stops a contact's run of a workflow.",
    [workflowField, contactField],
    (z, bundle) => change(z, bundle, 'POST', `/workflows/${bundle.inputData.workflow}/unenroll`,
      refs(bundle.inputData)), { cancelled: 1, skipped: [] }],
  ['pause_workflow', 'Workflow', 'Pause Workflow', 'Pauses a workflow.', [workflowField],
    (z, bundle) => change(z, bundle, 'POST', `/workflows/${bundle.inputData.workflow}/pause`), WORKFLOW],
  ['resume_workflow', 'Workflow', 'Resume Workflow', 'Resumes a paused workflow.', [workflowField],
    (z, bundle) => change(z, bundle, 'POST', `/workflows/${bundle.inputData.workflow}/resume`), WORKFLOW],
  ['add_to_campaign', 'Campaign', 'Add Contact to Campaign', 'Adds a contact to a campaign.',
    [campaignField, contactField],
    (z, bundle) => change(z, bundle, 'POST', `/campaigns/${bundle.inputData.campaign}/add-contacts`,
      refs(bundle.inputData)), { changed: 1, unchanged: 0, skipped: [] }],
  ['remove_from_campaign', 'Campaign', 'Remove Contact from Campaign', 'Removes a contact from a campaign.',
    [campaignField, contactField],
    (z, bundle) => change(z, bundle, 'POST', `/campaigns/${bundle.inputData.campaign}/remove-contacts`,
      refs(bundle.inputData)), { changed: 1, unchanged: 0, skipped: [] }],
  ['start_campaign', 'Campaign', 'Start Campaign', 'Starts a campaign.', [campaignField],
    (z, bundle) => change(z, bundle, 'POST', `/campaigns/${bundle.inputData.campaign}/start`), CAMPAIGN],
  ['pause_campaign', 'Campaign', 'Pause Campaign', 'Pauses a running campaign.', [campaignField],
    (z, bundle) => change(z, bundle, 'POST', `/campaigns/${bundle.inputData.campaign}/pause`), CAMPAIGN],
  ['complete_campaign', 'Campaign', 'Complete Campaign', 'Marks a campaign completed.', [campaignField],
    (z, bundle) => change(z, bundle, 'POST', `/campaigns/${bundle.inputData.campaign}/complete`), CAMPAIGN],
  ['create_task', 'Task', 'Create Task', 'Creates a task for your team, about a contact or not.',
    [{ key: 'title', label: 'Title', required: true }, { key: 'description', label: 'Description', type: 'text' },
      { key: 'due_at', label: 'Due', type: 'datetime' },
      { key: 'assignee', label: 'Assignee', helpText: "A member's email." },
      { ...contactField, required: false }],
    async (z, bundle) => {
      const input = bundle.inputData;
      const body = contactBody(input, ['title', 'description', 'due_at', 'assignee']);
      if (input.contact) {
        body.contact = await contactId(z, bundle, input.contact);
      }
      return change(z, bundle, 'POST', '/tasks', body);
    }, { id: '3a7c0000-0000-4000-8000-000000000001', title: 'Call Ada', status: 'open' }],
  ['send_template_email', 'Email', 'Send Template Email', 'Sends an email template to a contact.',
    [templateField, contactField],
    (z, bundle) => change(z, bundle, 'POST', `/templates/${bundle.inputData.template}/send`,
      { contact: contactRef(bundle.inputData.contact) }),
    { message_id: '9b1c0000-0000-4000-8000-000000000001', outcome: 'queued', status: 'queued', detail: '' }],
  ['create_segment', 'Segment', 'Create Segment', 'Creates a segment from a JSON Logic rule.',
    [{ key: 'name', label: 'Name', required: true }, { key: 'description', label: 'Description' },
      { key: 'rule', label: 'Rule', required: true, type: 'text',
        helpText: 'JSON Logic over the contact, e.g. `{"in": ["vip", {"var": "contact.tags"}]}`.' }],
    (z, bundle) => change(z, bundle, 'POST', '/segments', {
      ...contactBody(bundle.inputData, ['name', 'description']), rule: parseRule(z, bundle.inputData.rule),
    }), { id: '5e6f0000-0000-4000-8000-000000000001', name: 'VIPs' }],
];

const create = ([key, noun, label, description, inputFields, send, sample]) => ({
  key,
  noun,
  display: { label, description },
  operation: {
    inputFields,
    perform: async (z, bundle) => (await send(z, bundle)).data,
    sample,
  },
});

module.exports = { ACTIONS, creates: ACTIONS.map(create) };
