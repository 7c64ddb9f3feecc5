import test from 'ava';
import { isLoopback, splitListen, startServer } from '../../agent/server/server.js';
import type { ServerHandlers } from '../../agent/server/server.js';
import { AgentMetrics } from '../../agent/server/metrics.js';
import { isAgentError } from '../../agent/errors.js';

function handlers(overrides: Partial<ServerHandlers> = {}): ServerHandlers & { refreshes: number } {
  const state = {
    refreshes: 0,
    ready: () => false,
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: 'm 1\n' }),
    status: () => ({ templates: [] }),
    refresh: () => {
      state.refreshes++;
    },
    ...overrides,
  };
  return state;
}

test('health, readiness, status, metrics and refresh answer on a real socket', async (t) => {
  let ready = false;
  const h = handlers({ ready: () => ready, status: () => ({ templates: [{ template: 'a.hbs' }] }) });
  const listener = await startServer('127.0.0.1:0', h);
  t.teardown(() => listener.close());
  const base = `http://${listener.address}`;
  t.is((await fetch(`${base}/health/live`)).status, 200);
  t.is((await fetch(`${base}/health/ready`)).status, 503);
  ready = true;
  t.is((await fetch(`${base}/health/ready`)).status, 200);
  t.deepEqual(await (await fetch(`${base}/v1/status`)).json(), { templates: [{ template: 'a.hbs' }] });
  t.is(await (await fetch(`${base}/metrics`)).text(), 'm 1\n');
  t.is((await fetch(`${base}/v1/refresh`)).status, 405);
  t.is((await fetch(`${base}/v1/refresh`, { method: 'POST' })).status, 202);
  t.is(h.refreshes, 1);
  t.is((await fetch(`${base}/nope`)).status, 404);
});

test('only loopback addresses may refresh', (t) => {
  for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) t.true(isLoopback(address), address);
  for (const address of ['10.0.0.1', '192.168.1.5', '::ffff:10.1.1.1', 'fe80::1', '1.127.0.0', undefined]) t.false(isLoopback(address), String(address));
});

test('listen addresses split into host and port, IPv6 in brackets', (t) => {
  t.deepEqual(splitListen('127.0.0.1:9876'), { host: '127.0.0.1', port: 9876 });
  t.deepEqual(splitListen('[::1]:80'), { host: '::1', port: 80 });
});

test('a port in use is a configuration error naming the address', async (t) => {
  const first = await startServer('127.0.0.1:0', handlers());
  t.teardown(() => first.close());
  const error = await t.throwsAsync(startServer(first.address, handlers()));
  t.true(isAgentError(error, 'ERR_CONFIG_INVALID'));
  t.regex(error.message, /listen: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
});

test('the metrics registry exposes every metric name of the design', async (t) => {
  const metrics = new AgentMetrics({ processMetrics: false });
  metrics.secretRequests.inc({ backend: 'file', status: 'found' });
  metrics.secretRequestDuration.observe({ backend: 'file' }, 0.01);
  metrics.templateRenders.inc({ template: 'a.hbs', result: 'written' });
  metrics.templateLastSuccess.set({ template: 'a.hbs' }, 1);
  metrics.notifications.inc({ notifier: 'app', result: 'success' });
  metrics.setVaultTokenTtl(10);
  metrics.backendUp.set({ backend: 'file' }, 1);
  const text = await metrics.text();
  for (const name of ['secret_requests_total', 'secret_request_duration_seconds_bucket', 'template_renders_total', 'template_last_success_timestamp_seconds', 'notify_total', 'vault_token_ttl_seconds', 'backend_up']) {
    t.regex(text, new RegExp(`^${name}`, 'm'), name);
  }
});

test('vault_token_ttl_seconds is absent unless Vault takes part with a token that has a TTL', async (t) => {
  const metrics = new AgentMetrics({ processMetrics: false });
  t.false((await metrics.text()).includes('vault_token_ttl_seconds'), 'a file- or env-only agent exports no token TTL (no 0 to alert on)');
  metrics.setVaultTokenTtl(120);
  t.regex(await metrics.text(), /^vault_token_ttl_seconds 120$/m);
  metrics.setVaultTokenTtl(undefined);
  t.false((await metrics.text()).includes('vault_token_ttl_seconds'));
  metrics.setVaultTokenTtl(5);
  t.regex(await metrics.text(), /^vault_token_ttl_seconds 5$/m);
});
