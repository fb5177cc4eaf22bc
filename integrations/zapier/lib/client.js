'use strict';
// Every call to PenguinFlow goes through here: the workspace's base URL and API key from the connection, the
// contract's error format turned into messages a Zap's owner can act on, and an Idempotency-Key on every change.

const crypto = require('node:crypto');

// Answers after which the same request, with the same Idempotency-Key, is safe and worth sending again: the server
// keeps no answer for them (docs/integrations-actions.md), or it is still running the first one.
const RETRYABLE = new Set([409, 429, 500, 502, 503, 504]);
const ATTEMPTS = 3;
const LIST_PAGE = 100;
const LIST_PAGES = 5; // a dropdown's worth: 500 items

const baseUrl = (bundle) => String(bundle.authData.base_url || '').replace(/\/+$/, '');

const apiUrl = (bundle, path) => (/^https?:\/\//.test(path) ? path : `${baseUrl(bundle)}/api/v1${path}`);

const includeApiKey = (request, z, bundle) => {
  if (bundle.authData && bundle.authData.api_key) {
    request.headers = { ...request.headers, Authorization: `Bearer ${bundle.authData.api_key}` };
  }
  request.headers = { Accept: 'application/json', ...request.headers };
  return request;
};

const errorOf = (response) => {
  const error = (response.data && response.data.error) || {};
  const details = error.details && Object.keys(error.details).length ? ` (${JSON.stringify(error.details)})` : '';
  const message = error.message || `PenguinFlow answered ${response.status}.`;
  return { code: error.code || `http_${response.status}`, message: `${message}${details}` };
};

// The server's refusals in its own words (CONTRACT: {"error": {code, message, details}}), not a bare status.
const raiseFor = (response, z) => {
  if (response.status < 400) {
    return response;
  }
  const { code, message } = errorOf(response);
  if (response.status === 401) {
    throw new z.errors.Error(`The API key was refused: ${message} Reconnect PenguinFlow with a valid key.`,
      'AuthenticationError', 401);
  }
  throw new z.errors.Error(message, code, response.status);
};

// The app's afterResponse middleware: a call that handles its own statuses (`change`) asks to skip it.
const throwForError = (response, z) => (response.skipThrowForStatus ? response : raiseFor(response, z));

const isRetryable = (response) => {
  if (!RETRYABLE.has(response.status)) {
    return false;
  }
  return response.status !== 409 || (response.data && response.data.error &&
    response.data.error.code === 'idempotency_key_in_use');
};

const pause = (response) => {
  // The server's Retry-After when it sends one (capped: a Zap step has little time), else a second.
  const header = response.headers.get('retry-after');
  const retryAfter = header === null ? NaN : Number(header);
  const seconds = Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter, 5) : 1;
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
};

/** Read `path` (GET) with `params`; answer the parsed body. */
const read = async (z, bundle, path, params = {}) => {
  const response = await z.request({ url: apiUrl(bundle, path), method: 'GET', params });
  return response.data;
};

/** Read every page of a cursor-paginated list (up to LIST_PAGES), for dropdowns. */
const readAll = async (z, bundle, path, params = {}) => {
  let page = await read(z, bundle, path, { limit: LIST_PAGE, ...params });
  const items = [...page.results];
  for (let n = 1; n < LIST_PAGES && page.next; n += 1) {
    page = await read(z, bundle, page.next);
    items.push(...page.results);
  }
  return items;
};

/**
 * Send a change with one Idempotency-Key for this invocation: when the answer is lost, throttled or the server
 * is still running the first attempt, the same request goes again with the same key, so it acts at most once.
 */
const change = async (z, bundle, method, path, body) => {
  const key = `zapier-${crypto.randomUUID()}`;
  let response;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
    try {
      response = await z.request({
        url: apiUrl(bundle, path), method, body,
        headers: { 'Idempotency-Key': key, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        skipThrowForStatus: true,
      });
    } catch (error) {
      if (attempt === ATTEMPTS || !/ECONNRESET|ETIMEDOUT|socket hang up/.test(String(error.message))) {
        throw error;
      }
      continue;
    }
    if (attempt === ATTEMPTS || !isRetryable(response)) {
      break;
    }
    await pause(response);
  }
  raiseFor(response, z);
  return { status: response.status, data: response.content ? response.data : null };
};

module.exports = { apiUrl, baseUrl, change, includeApiKey, read, readAll, throwForError };
