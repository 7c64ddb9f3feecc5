// Each node-vault 0.12 pitfall (docs/vault.md, node-vault pitfalls) with a test that fails when its workaround is
// removed: checked on the wire, at the emulator, through the real client. TLS and proxies have own files.
import { createRequire } from 'node:module';
import { format } from 'node:util';
import test from 'ava';
import type { NodeVaultClient, NodeVaultFactory } from '../../agent/backends/vault/client.js';
import { defaultNodeVault } from '../../agent/backends/vault/client.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { credentialFiles } from './vault/files.js';
import { backendFor, emulatorFor } from './vault/helpers.js';
import { realVault } from './vault/target.js';
import type { Target } from './vault/target.js';
import { withoutMeta } from './outcome.js';

const maybe = realVault ? test.skip : test;
const targetOf = (server: { address: string; token: string }, namespace = 'dsta') => ({ address: server.address, rootToken: server.token, namespace }) as Target;

maybe('kubernetes login posts to the configured auth mount, never to /v1/auth//login (#300)', async (t) => {
  const server = await emulatorFor(t);
  server.addKubernetesRole({ role: 'api-server', jwt: 'jwt-default' });
  server.addKubernetesRole({ mount: 'k8s-east', role: 'api-server', jwt: 'jwt-east' });
  const files = await credentialFiles(t, { default: 'jwt-default', east: 'jwt-east' });
  for (const [mountPath, file] of [[undefined, 'default'], ['k8s-east', 'east']] as const) {
    const auth = { method: 'kubernetes' as const, role: 'api-server', jwtFile: files.path(file), ...(mountPath === undefined ? {} : { mountPath }) };
    const { backend } = backendFor(targetOf(server), { auth });
    await backend.start();
    await backend.close();
  }
  t.deepEqual(server.counters.requests.filter((r) => r.route.startsWith('login:')).map((r) => r.url), ['/v1/auth/kubernetes/login', '/v1/auth/k8s-east/login']);
});

maybe('a replaced token is sent on the very next request: no header pins the first one', async (t) => {
  const server = await emulatorFor(t);
  server.setSecret('app', { secret_key: 's' });
  const [first, second] = [server.createToken({ ttl: 600, policies: ['root'] }), server.createToken({ ttl: 600, policies: ['root'] })];
  const files = await credentialFiles(t, { token: first });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, auth: { method: 'token', tokenFile: files.path('token') } });
  await backend.fetch({ kind: 'value', path: 'app/secret_key' });
  await files.write('token', second);
  t.true(await backend.reloadTokenFile());
  await backend.fetch({ kind: 'value', path: 'app/secret_key' });
  t.deepEqual(server.counters.requests.filter((r) => r.route === 'kv').map((r) => r.token), [first, second]);
  await backend.close();
});

maybe('secret paths are URL-encoded per segment and never HTML-escaped', async (t) => {
  const server = await emulatorFor(t);
  const names = ['a&b', 'c#d', 'e?f', 'p%q', `q'"<>=`, 'sp ace'];
  for (const name of names) server.setSecret(`odd/${name}`, { key: name });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
  for (const name of names) t.deepEqual(withoutMeta(await backend.fetch({ kind: 'value', path: `odd/${name}/key` })), { status: 'found', data: name, version: '1' });
  t.deepEqual(server.counters.requests.filter((r) => r.route === 'kv').map((r) => r.url), names.map((name) => `/v1/secret/data/odd/${encodeURIComponent(name)}`));
  await backend.close();
});

maybe('a list is GET ?list=1, never the LIST verb that node:http servers and some proxies reject', async (t) => {
  const server = await emulatorFor(t);
  server.setSecret('exchange/binance', { api_key: 'k' });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
  t.deepEqual(await backend.list('exchange'), ['binance']);
  t.like(server.counters.requests.at(-1), { method: 'GET', url: '/v1/secret/metadata/exchange/?list=1' });
  await backend.close();
});

/** A node-vault factory that records its options and every call to the built-in renewal helpers. */
function spyingFactory(): { factory: NodeVaultFactory; options: Record<string, unknown>[]; renewals: string[] } {
  const options: Record<string, unknown>[] = [];
  const renewals: string[] = [];
  const factory: NodeVaultFactory = (given) => {
    options.push(given);
    const client = defaultNodeVault(given) as NodeVaultClient & Record<string, unknown>;
    for (const name of ['startTokenRenewal', 'startLeaseRenewal']) {
      const original = client[name] as (...args: unknown[]) => unknown;
      client[name] = (...args: unknown[]) => { renewals.push(name); return original(...args); };
    }
    return client;
  };
  return { factory, options, renewals };
}

maybe("node-vault's built-in renewal is never started; renewal follows the agent's own clock", async (t) => {
  const clock = new FakeClock();
  const server = await emulatorFor(t, { clock });
  const token = server.createToken({ ttl: 30, maxTtl: 3600, policies: ['root'] });
  const spy = spyingFactory();
  const { backend } = backendFor(targetOf(server), { auth: { method: 'token', token } }, { clock, random: () => 0, nodeVault: spy.factory });
  await backend.start();
  t.deepEqual(clock.pendingDelays, [18_000]);
  await clock.advance(18_000);
  await backend.settled();
  t.is(server.counters.count({ route: 'renew-self' }), 1);
  t.deepEqual(spy.renewals, []);
  t.is(spy.options.length, 3, 'one client for requests, one tokenless for logins, one without the namespace for root-only paths');
  for (const options of spy.options) {
    t.like(options, { noCustomHTTPVerbs: true, requestOptions: { timeout: 5000, strictSSL: true } });
    t.false('headers' in (options['requestOptions'] as object));
  }
  await backend.close();
});

maybe('DEBUG=node-vault cannot print request bodies: node-vault gets a silent debug', async (t) => {
  const nodeVaultPath = createRequire(import.meta.url).resolve('node-vault');
  const debug = createRequire(nodeVaultPath)('debug') as { enable(ns: string): void; disable(): string; log: (...args: unknown[]) => void };
  const printed: string[] = [];
  const originalLog = debug.log;
  debug.log = (...args: unknown[]) => { printed.push(format(...args)); };
  debug.enable('node-vault');
  const server = await emulatorFor(t);
  try {
    const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
    await backend.write('exchange/binance', { api_key: 'SECRET-BODY' }, { cas: 0 });
    await backend.close();
    t.deepEqual(printed, []);
    // The control: a client built without the silent debug does print the body, so the capture works.
    const bare = defaultNodeVault({ endpoint: server.address, token: server.token, namespace: 'dsta' }) as NodeVaultClient;
    await bare.write('secret/data/app', { data: { secret_key: 'SECRET-BODY' } });
    t.true(printed.some((line) => line.includes('SECRET-BODY')));
  } finally {
    debug.disable();
    debug.log = originalLog;
  }
});

maybe('VAULT_TOKEN, VAULT_NAMESPACE and VAULT_PREFIX in the environment never reach a request', async (t) => {
  const server = await emulatorFor(t, { namespace: '' });
  server.setSecret('app', { secret_key: 's' });
  server.addAppRole({ roleId: 'role', secretId: 'secret', token: { ttl: 600, policies: ['root'] } });
  const files = await credentialFiles(t, { 'role-id': 'role', 'secret-id': 'secret' });
  const saved = { ...process.env };
  Object.assign(process.env, { VAULT_TOKEN: 'hvs.leaked', VAULT_NAMESPACE: 'leaked', VAULT_PREFIX: '/leaked' });
  const { backend } = backendFor(targetOf(server, ''), { kvVersion: 2, auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } });
  for (const name of ['VAULT_TOKEN', 'VAULT_NAMESPACE', 'VAULT_PREFIX']) if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
  t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found' });
  const seen = server.counters.requests.map((r) => ({ url: r.url, token: r.token === undefined ? 'none' : r.token === 'hvs.leaked' ? 'leaked' : 'agent', namespace: r.namespaceHeader }));
  t.deepEqual(seen, [
    { url: '/v1/auth/approle/login', token: 'none', namespace: undefined },
    { url: '/v1/auth/token/lookup-self', token: 'agent', namespace: undefined },
    { url: '/v1/secret/data/app', token: 'agent', namespace: undefined },
  ]);
  await backend.close();
});
