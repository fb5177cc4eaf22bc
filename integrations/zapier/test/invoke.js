'use strict';
// Run one operation of the app, as `zapier invoke` would, and print its answer as JSON on a line of its own after
// `ANSWER ` (the platform prints memory figures to stdout too):
//   node test/invoke.js <triggers|creates|searches> <key> <operation> '<bundle JSON>'
// tests/integrations/test_zapier_app.py uses it where a step of the test happens outside jest (a real delivery).

const zapier = require('zapier-platform-core');

const App = require('../index');

const [kind, key, operation, bundleJson] = process.argv.slice(2);
zapier.createAppTester(App)(App[kind][key].operation[operation], JSON.parse(bundleJson))
  .then((answer) => process.stdout.write(`\nANSWER ${JSON.stringify(answer)}\n`))
  .catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  });
