'use strict';
// A PenguinFlow connection: the server's address (PenguinFlow is self-hosted) and an API key of the workspace.
// The test is GET /api/v1/me, which any valid key may call whatever its scopes; its answer names the connection.

const { read } = require('./lib/client');

const test = (z, bundle) => read(z, bundle, '/me');

// Zapier calls this with the test's answer (GET /me) as `bundle.inputData`.
const connectionLabel = (z, bundle) => {
  const { workspace = {}, key = {} } = bundle.inputData;
  return key.label ? `${workspace.name} (${key.label})` : workspace.name;
};

module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'base_url',
      label: 'PenguinFlow URL',
      required: true,
      type: 'string',
      helpText: 'The address of your PenguinFlow server, e.g. `https://pf.example.com`.',
    },
    {
      key: 'api_key',
      label: 'API key',
      required: true,
      type: 'password',
      helpText: 'An API key of the workspace (Admin → API keys, or `manage.py create_api_key`) with the `read` ' +
        'and `write` scopes.',
    },
  ],
  test,
  connectionLabel,
};
