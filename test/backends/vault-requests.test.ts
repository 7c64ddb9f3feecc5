// What goes over the wire for a cycle of reads: the KV version detected once per mount (and the fallbacks
// of docs/vault.md), the namespace header on every request but the root-only ones, one GET per secret. Emulator counters.
import test from 'ava';
import { refKey } from '../../agent/backends/backend.js';
import { createNodeVaultClient } from '../../agent/backends/vault/client.js';
import { VaultHttp } from '../../agent/backends/vault/http.js';
import { probeBackends } from '../../agent/library/health.js';
import type { SecretRef } from '../../agent/backends/backend.js';
import type { ExecutionContext } from 'ava';
import type { VaultEmulator, VaultEmulatorOptions } from '../fakes/vault/index.js';
import { credentialFiles } from './vault/files.js';
import { backendFor, emulatorFor, vaultConfig } from './vault/helpers.js';
import { realVault } from './vault/target.js';
import type { Target } from './vault/target.js';
import { withoutMeta } from './outcome.js';

const maybe = realVault ? test.skip : test;

async function seeded(t: ExecutionContext, options: VaultEmulatorOptions = {}): Promise<{ server: VaultEmulator; target: Target }> {
  const server = await emulatorFor(t, options);
  server.setSecret('exchange/binance', { api_key: 'k', api_secret: 's' });
  server.setSecret('database/postgres', { password: 'pw' });
  server.setSecret('app', { secret_key: 'sk' });
  return { server, target: { address: server.address, rootToken: server.token, namespace: options.namespace ?? 'dsta' } as Target };
}

const refs: SecretRef[] = [
  { kind: 'value', path: 'exchange/binance/api_key' },
  { kind: 'value', path: 'exchange/binance/api_secret' },
  { kind: 'map', path: 'exchange/binance' },
  { kind: 'value', path: 'database/postgres/password' },
  { kind: 'value', path: 'app/secret_key' },
  { kind: 'value', path: 'app/missing' },
];

maybe('fetchMany costs one GET per secret, however many keys are asked for', async (t) => {
  const { server, target } = await seeded(t);
  const { backend } = backendFor(target, { kvVersion: 2 });
  const outcomes = await backend.fetchMany(refs);
  t.deepEqual([...outcomes.keys()], refs.map(refKey));
  t.deepEqual(withoutMeta(outcomes.get('value:exchange/binance/api_secret')), { status: 'found', data: 's', version: '1' });
  t.deepEqual(withoutMeta(outcomes.get('map:exchange/binance')), { status: 'found', data: { api_key: 'k', api_secret: 's' }, version: '1' });
  t.like(outcomes.get('value:app/missing'), { status: 'not_found' });
  t.deepEqual(server.counters.requests.filter((r) => r.route === 'kv').map((r) => r.path).sort(), ['secret/data/app', 'secret/data/database/postgres', 'secret/data/exchange/binance']);
  await backend.close();
});

maybe('fetchMany reads at most 8 secrets at a time', async (t) => {
  const { server, target } = await seeded(t);
  const many: SecretRef[] = Array.from({ length: 20 }, (_, i) => ({ kind: 'value', path: `bulk/s${i}/k` }));
  for (let i = 0; i < 20; i++) server.setSecret(`bulk/s${i}`, { k: String(i) });
  const { backend } = backendFor(target, { kvVersion: 2 });
  await backend.start();
  server.counters.reset();
  // Each read is held 2 s: long enough that all 8 of a wave are in flight together even on a loaded machine.
  server.faults.add({ kind: 'delay', ms: 2_000 }, { path: /^secret\/data\/bulk\// });
  const outcomes = await backend.fetchMany(many);
  t.deepEqual([...outcomes.values()].map((o) => (o.status === 'found' ? o.data : o.status)), many.map((_, i) => String(i)));
  t.is(server.counters.peakInFlight, 8);
  await backend.close();
});

maybe('a secret whose read fails is its error outcome in the batch, never read a second time', async (t) => {
  const { server, target } = await seeded(t);
  const { backend } = backendFor(target, { kvVersion: 2 });
  server.faults.add({ kind: 'malformed' }, { path: 'secret/data/app', times: 1 });
  const outcomes = await backend.fetchMany(refs);
  t.deepEqual([...outcomes.keys()].sort(), refs.map(refKey).sort());
  t.deepEqual(refs.slice(4).map((ref) => outcomes.get(refKey(ref))?.status), refs.slice(4).map(() => 'error'));
  t.is(server.counters.count({ route: 'kv', path: 'secret/data/app' }), 1);
  await backend.close();
});

maybe('a login the agent cannot make fails the whole batch with ERR_AUTH', async (t) => {
  const { server, target } = await seeded(t);
  const { backend } = backendFor(target, { kvVersion: 2, auth: { method: 'token' } });
  await t.throwsAsync(backend.fetchMany(refs), { code: 'ERR_AUTH' });
  t.is(server.counters.requests.length, 0);
  await backend.close();
});

maybe('concurrent fetches of one secret share the GET in flight; a later fetch asks again', async (t) => {
  const { server, target } = await seeded(t);
  const { backend } = backendFor(target, { kvVersion: 2 });
  await Promise.all([0, 1, 2].map(() => backend.fetch({ kind: 'value', path: 'exchange/binance/api_key' })));
  t.is(server.counters.count({ route: 'kv' }), 1);
  await backend.fetch({ kind: 'value', path: 'exchange/binance/api_key' });
  t.is(server.counters.count({ route: 'kv' }), 2);
  await backend.close();
});

maybe('the KV version is detected once per mount, however many reads follow', async (t) => {
  const { server, target } = await seeded(t);
  const { backend, logText } = backendFor(target);
  await backend.fetchMany(refs);
  await backend.fetch({ kind: 'value', path: 'app/secret_key' });
  t.is(server.counters.count({ route: 'mounts' }), 1);
  t.like(server.counters.requests.find((r) => r.route === 'mounts'), { method: 'GET', url: '/v1/sys/internal/ui/mounts/secret' });
  t.regex(logText(), /"kvVersion":2,"msg":"vault KV version detected"/);
  await backend.close();
});

maybe('kvVersion 1 or 2 skips detection', async (t) => {
  const { server, target } = await seeded(t, { mounts: { secret: 2, kv1: 1 } });
  server.setSecret('app', { secret_key: 'v1' }, { mount: 'kv1' });
  const v2 = backendFor(target, { kvVersion: 2 });
  const v1 = backendFor(target, { kvVersion: 1, mount: 'kv1' });
  t.like(await v2.backend.fetch({ kind: 'value', path: 'app/secret_key' }), { data: 'sk' });
  t.like(await v1.backend.fetch({ kind: 'value', path: 'app/secret_key' }), { data: 'v1' });
  t.is(server.counters.count({ route: 'mounts' }), 0);
  await v2.backend.close();
  await v1.backend.close();
});

maybe('a 404 from sys/internal/ui/mounts means KV v1, as the Vault CLI decides', async (t) => {
  const { server, target } = await seeded(t, { mounts: { secret: 1 } });
  server.setSecret('app', { secret_key: 'old-vault' });
  server.faults.add({ kind: 'status', status: 404 }, { path: 'sys/internal/ui/mounts/secret' });
  const { backend, logText } = backendFor(target);
  t.deepEqual(withoutMeta(await backend.fetch({ kind: 'value', path: 'app/secret_key' })), { status: 'found', data: 'old-vault' });
  t.like(server.counters.requests.at(-1), { url: '/v1/secret/app' });
  t.regex(logText(), /"level":"warn".*"kvVersion":1.*assuming KV v1/);
  await backend.close();
});

maybe('a 403 from sys/internal/ui/mounts falls back to KV v2 with a warning, and no login', async (t) => {
  const { server, target } = await seeded(t);
  server.setPolicy('data-only', 'path "secret/data/app" {\n  capabilities = ["read"]\n}\npath "sys/internal/ui/mounts/*" {\n  capabilities = ["deny"]\n}\n');
  server.faults.add({ kind: 'status', status: 403, errors: ['preflight capability check returned 403, please ensure client\'s policies grant access to path "secret/"'] }, { path: 'sys/internal/ui/mounts/secret' });
  const token = server.createToken({ ttl: 600, policies: ['data-only', 'default'] });
  const { backend, logText } = backendFor(target, { auth: { method: 'token', token } });
  t.deepEqual(withoutMeta(await backend.fetch({ kind: 'value', path: 'app/secret_key' })), { status: 'found', data: 'sk', version: '1' });
  t.regex(logText(), /"level":"warn".*"kvVersion":2.*assuming KV v2/);
  t.is(server.counters.count({ route: 'mounts' }), 1);
  await backend.close();
});

maybe('a detection that finds Vault unavailable is not remembered', async (t) => {
  const { server, target } = await seeded(t);
  server.faults.add({ kind: 'status', status: 503, errors: ['Vault is sealed'] }, { path: 'sys/internal/ui/mounts/secret', times: 1 });
  const { backend } = backendFor(target);
  t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'unavailable' });
  t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'sk' });
  t.is(server.counters.count({ route: 'mounts' }), 2);
  await backend.close();
});

const everyKindOfRequest = async (backend: ReturnType<typeof backendFor>['backend']) => {
  await backend.start();
  await backend.fetch({ kind: 'map', path: 'exchange/binance' });
  await backend.write('app', { secret_key: 'new' }, { cas: 1 });
  await backend.readMetadata('app');
  await backend.list('exchange');
  await backend.isAvailable();
};

maybe('X-Vault-Namespace rides on every request but sys/health: login, lookup, detection, reads, writes, lists', async (t) => {
  const { server, target } = await seeded(t, { enterprise: true });
  server.addAppRole({ roleId: 'r', secretId: 's', token: { ttl: 600, policies: ['root'] } });
  const files = await credentialFiles(t, { 'role-id': 'r', 'secret-id': 's' });
  const { backend } = backendFor(target, { auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } });
  await everyKindOfRequest(backend);
  t.deepEqual(new Set(server.counters.requests.map((r) => r.route)), new Set(['login:approle', 'lookup-self', 'mounts', 'kv', 'health']));
  t.true(server.counters.requests.filter((r) => r.route !== 'health').every((r) => r.namespaceHeader === 'dsta'));
  t.deepEqual(server.counters.requests.filter((r) => r.route === 'health').map((r) => [r.url, r.namespaceHeader, r.token]), [['/v1/sys/health', undefined, undefined]]);
  await backend.close();
});

maybe('Vault Enterprise with namespace "dsta": sys/health goes to the root namespace, so isAvailable and health say up', async (t) => {
  const { server, target } = await seeded(t, { enterprise: true });
  const { backend } = backendFor(target, { kvVersion: 2 });
  await backend.start();
  t.true(await backend.isAvailable());
  t.deepEqual((await probeBackends({ backends: [backend], start: () => Promise.resolve(undefined) })).map(({ backend: name, reachable, authenticated, error }) => ({ name, reachable, authenticated, error })), [{ name: 'vault', reachable: true, authenticated: true, error: undefined }]);
  t.like(await backend.fetch({ kind: 'value', path: 'app/secret_key' }), { status: 'found', data: 'sk' });
  server.setSealed(true);
  t.false(await backend.isAvailable(), 'a sealed Vault is still down');
  t.true(server.counters.requests.filter((r) => r.route === 'health').every((r) => r.namespaceHeader === undefined));
  await backend.close();
});

maybe('namespace "" sends no X-Vault-Namespace header at all', async (t) => {
  const { server, target } = await seeded(t, { namespace: '' });
  const { backend } = backendFor(target);
  await everyKindOfRequest(backend);
  t.true(server.counters.requests.length >= 7);
  t.true(server.counters.requests.every((r) => r.namespaceHeader === undefined));
  await backend.close();
});

maybe('any root-only path (sys/leader, sys/seal-status, ...) goes without the namespace, keeping the token; others keep both', async (t) => {
  const { server } = await seeded(t, { enterprise: true });
  const config = { ...vaultConfig({ address: server.address, namespace: 'dsta' }), address: server.address };
  const client = createNodeVaultClient(config);
  client.token = server.token;
  const http = new VaultHttp({ client, rootClient: createNodeVaultClient({ ...config, namespace: '' }), address: server.address, timeout: 5000 });
  for (const path of ['sys/leader', 'sys/seal-status', 'sys/generate-root/attempt', 'sys/internal/ui/mounts/secret', 'auth/token/lookup-self']) await http.get(path);
  await http.post('sys/step-down', {});
  t.deepEqual(server.counters.requests.map((r) => [r.url, r.namespaceHeader, r.token === server.token]), [
    ['/v1/sys/leader', undefined, true],
    ['/v1/sys/seal-status', undefined, true],
    ['/v1/sys/generate-root/attempt', undefined, true],
    ['/v1/sys/internal/ui/mounts/secret', 'dsta', true],
    ['/v1/auth/token/lookup-self', 'dsta', true],
    ['/v1/sys/step-down', undefined, true],
  ]);
  t.is(client.namespace, 'dsta', 'the namespaced client is never changed');
});
