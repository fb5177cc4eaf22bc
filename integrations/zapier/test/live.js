'use strict';
// The live PenguinFlow the tests talk to, named by the environment that tests/integrations/test_zapier_app.py
// sets: PENGUINFLOW_URL, PENGUINFLOW_API_KEY and PENGUINFLOW_SEED (JSON: what it seeded). Nothing is mocked.

const zapier = require('zapier-platform-core');

const App = require('../index');

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tests/integrations/test_zapier_app.py, ` +
      'which starts a live PenguinFlow and seeds it.');
  }
  return value;
};

const baseUrl = required('PENGUINFLOW_URL');
const apiKey = required('PENGUINFLOW_API_KEY');
const seed = JSON.parse(required('PENGUINFLOW_SEED'));

const appTester = zapier.createAppTester(App);

const bundleWith = (inputData = {}, extra = {}) => ({
  authData: { base_url: baseUrl, api_key: apiKey },
  inputData,
  meta: {},
  ...extra,
});

/** GET a path of the API with the test's key, outside the app (to check what an action did). */
const apiGet = async (path) => {
  const response = await fetch(`${baseUrl}/api/v1${path}`, { headers: { Authorization: `Bearer ${apiKey}` } });
  return { status: response.status, data: response.status === 200 ? await response.json() : null };
};

module.exports = { App, apiGet, apiKey, appTester, baseUrl, bundleWith, seed };
