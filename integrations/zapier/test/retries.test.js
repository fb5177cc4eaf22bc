'use strict';
// The app's retry of a change: against a local endpoint that fails first (as a lost answer or a busy server
// does), the same request goes again with the same Idempotency-Key; a refusal that was kept is not retried.

const http = require('node:http');

const { App, appTester } = require('./live');

const serve = (answers) => new Promise((resolve) => {
  const seen = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      seen.push({ key: request.headers['idempotency-key'], body, auth: request.headers.authorization });
      const [status, payload] = answers[Math.min(seen.length - 1, answers.length - 1)];
      response.writeHead(status, { 'Content-Type': 'application/json', 'Retry-After': '0' });
      response.end(JSON.stringify(payload));
    });
  });
  server.listen(0, '127.0.0.1', () => resolve({ server, seen, url: `http://127.0.0.1:${server.address().port}` }));
});

const pause = (url) => appTester(App.creates.pause_workflow.operation.perform,
  { authData: { base_url: url, api_key: 'pf_test' }, inputData: { workflow: 'w1' }, meta: {} });

describe('a change that meets a passing failure', () => {
  it('is sent again with the same Idempotency-Key until it gets an answer', async () => {
    const busy = { error: { code: 'idempotency_key_in_use', message: 'Still running.', details: {} } };
    const { server, seen, url } = await serve([[503, {}], [409, busy], [200, { id: 'w1', status: 'paused' }]]);
    try {
      expect(await pause(url)).toEqual({ id: 'w1', status: 'paused' });
    } finally {
      server.close();
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((request) => request.key)).size).toBe(1);
    expect(seen[0].key).toMatch(/^zapier-[0-9a-f-]{36}$/);
    expect(seen[0].auth).toBe('Bearer pf_test');
  });

  it('is not sent again after a refusal the server kept, and says why', async () => {
    const refusal = { error: { code: 'invalid_transition', message: 'The workflow is already paused.', details: {} } };
    const { server, seen, url } = await serve([[409, refusal]]);
    try {
      await expect(pause(url)).rejects.toThrow(/already paused/);
    } finally {
      server.close();
    }
    expect(seen).toHaveLength(1);
  });

  it('gives up after three attempts', async () => {
    const { server, seen, url } = await serve([[503, { error: { code: 'unavailable', message: 'Down.' } }]]);
    try {
      await expect(pause(url)).rejects.toThrow(/Down/);
    } finally {
      server.close();
    }
    expect(seen).toHaveLength(3);
  });
});
