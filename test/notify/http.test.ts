// The http notifier against a real local HTTP server: method, headers, one retry, redacted errors, timeout.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAgentError } from '../../agent/errors.js';
import { sendHttp } from '../../agent/notify/http.js';
import type { HttpNotifier } from '../../agent/notify/http.js';
import { systemClock } from '../../agent/util/clock.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** A server on 127.0.0.1 that answers request n (from 0) with `statuses[n]`, or never answers when it is 0. */
async function server(t: ExecutionContext, statuses: readonly number[]): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const hanging: ServerResponse[] = [];
  const httpServer = createServer((request, response) => {
    const status = statuses[seen.length] ?? 200;
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    request.resume();
    if (status === 0) hanging.push(response);
    else response.writeHead(status).end('body the notifier must not log');
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { httpServer.closeAllConnections(); httpServer.close(() => { resolve(); }); }));
  const { port } = httpServer.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, seen };
}

function notifier(url: string, extra: Partial<HttpNotifier['http']> = {}, timeout = 10_000): HttpNotifier {
  return { http: { url, method: 'POST', headers: {}, ...extra }, timeout };
}

const now = { clock: systemClock, retryDelayMs: 0 };

test('the request uses the configured method, path and headers, and a 2xx is success after one attempt', async (t) => {
  const { base, seen } = await server(t, [204]);
  const outcome = await sendHttp(notifier(`${base}/-/reload?x=1`, { method: 'PUT', headers: { 'X-Reload': 'yes', Authorization: 'Bearer t0ken-value' } }), now);
  t.deepEqual(outcome, { status: 204, attempts: 1 });
  t.is(seen.length, 1);
  t.like(seen[0], { method: 'PUT', url: '/-/reload?x=1' });
  t.is(seen[0]?.headers['x-reload'], 'yes');
  t.is(seen[0]?.headers.authorization, 'Bearer t0ken-value');
});

test('a 500 is retried once, and a 200 on the retry is success', async (t) => {
  const { base, seen } = await server(t, [500, 200]);
  t.deepEqual(await sendHttp(notifier(`${base}/reload`), now), { status: 200, attempts: 2 });
  t.is(seen.length, 2);
});

test('two 500s are ERR_NOTIFY naming the URL with its password and query redacted, and the status', async (t) => {
  const { base, seen } = await server(t, [500, 503]);
  const url = base.replace('http://', 'http://ops:pa55word-xyz@') + '/reload?token=q-secret-123';
  const error = await t.throwsAsync(sendHttp(notifier(url), now));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, `http POST ${base.replace('http://', 'http://ops:redacted@')}/reload?token=redacted answered 503 (after one retry)`);
  t.is(seen.length, 2);
  t.false(JSON.stringify(isAgentError(error) ? error.details : {}).includes('secret'));
});

test('user:password in the URL is sent as basic auth, not refused', async (t) => {
  const { base, seen } = await server(t, [200]);
  await sendHttp(notifier(base.replace('http://', 'http://ops:p%40ss@') + '/r'), now);
  t.is(seen[0]?.headers.authorization, `Basic ${Buffer.from('ops:p@ss').toString('base64')}`);
});

test('a 4xx is not retried and is ERR_NOTIFY with its status', async (t) => {
  const { base, seen } = await server(t, [404]);
  const error = await t.throwsAsync(sendHttp(notifier(`${base}/missing`), now));
  t.is(error.message, `http POST ${base}/missing answered 404`);
  t.is(seen.length, 1);
});

test('a redirect is not followed: it is a non-2xx answer', async (t) => {
  const { base, seen } = await server(t, [302]);
  const error = await t.throwsAsync(sendHttp(notifier(`${base}/moved`), now));
  t.is(error.message, `http POST ${base}/moved answered 302`);
  t.is(seen.length, 1);
});

test('a refused connection is retried once, then ERR_NOTIFY with the errno code', async (t) => {
  const closed = await new Promise<string>((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => { resolve(`http://127.0.0.1:${port}`); });
    });
  });
  const error = await t.throwsAsync(sendHttp(notifier(`${closed}/reload`), now));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, `http POST ${closed}/reload failed: ECONNREFUSED (after one retry)`);
  t.like(isAgentError(error) ? error.details : {}, { attempts: 2 });
});

test('an answer that does not come within timeout is ERR_NOTIFY and is not retried', async (t) => {
  const { base, seen } = await server(t, [0, 200]);
  const clock = new FakeClock();
  const outcome = t.throwsAsync(sendHttp(notifier(`${base}/slow`, {}, 5_000), { clock, retryDelayMs: 0 }));
  await waitFor('the request to arrive', () => (seen.length === 1 ? true : undefined));
  await clock.advance(4_999);
  t.deepEqual(clock.pendingDelays, [1]);
  await clock.advance(1);
  const error = await outcome;
  t.is(error.message, `http POST ${base}/slow got no answer within 5s`);
  t.is(seen.length, 1);
});

test('the retry waits retryDelay on the clock before the second attempt', async (t) => {
  const { base, seen } = await server(t, [502, 200]);
  const clock = new FakeClock();
  const outcome = sendHttp(notifier(`${base}/r`, {}, 5_000), { clock, retryDelayMs: 1_000 });
  await waitFor('the retry to be scheduled', () => (clock.pendingDelays.length === 1 && clock.pendingDelays[0] === 1_000 ? true : undefined));
  t.is(seen.length, 1);
  await clock.advance(1_000);
  t.deepEqual(await outcome, { status: 200, attempts: 2 });
  t.is(seen.length, 2);
});

test('a header value that is not a valid header is refused without quoting the value', async (t) => {
  const { base, seen } = await server(t, []);
  const error = await t.throwsAsync(sendHttp(notifier(`${base}/r`, { headers: { Authorization: 'Bearer line1\nline2-s3cret' } }), now));
  t.true(isAgentError(error, 'ERR_NOTIFY'));
  t.is(error.message, `http POST ${base}/r: header "Authorization" has an invalid name or value`);
  t.is(seen.length, 0);
});
