// "Not found" is only Vault's own answer (docs/vault.md, Outcomes): a 404 `{"errors":[]}` or the KV v2
// envelope of a deleted or destroyed version. A 404 from a proxy in front of Vault, or Vault's own 404 for a
// path it does not serve, is unavailable — for reads, audit, lists, KV version detection and logins alike.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { VaultEmulator } from '../fakes/vault/index.js';
import { credentialFiles } from './vault/files.js';
import { backendFor, emulatorFor, targetOf } from './vault/helpers.js';
import { realVault } from './vault/target.js';
import { withoutMeta } from './outcome.js';

const maybe = realVault ? test.skip : test;
const secret = 'exchange/binance';
const ref = { kind: 'value', path: `${secret}/api_key` } as const;
const unsupportedPath = '1 error occurred:\n\t* unsupported path\n\n';

/** An emulator holding one KV v2 secret. */
async function seeded(t: ExecutionContext, mounts?: Record<string, 1 | 2>): Promise<VaultEmulator> {
  const server = await emulatorFor(t, mounts === undefined ? {} : { mounts });
  server.setSecret(secret, { api_key: 'k' });
  return server;
}

/** The outcome of reading `ref` through a KV v2 backend while `secret/data/exchange/binance` answers with `fault`. */
async function readUnder(t: ExecutionContext, fault: Parameters<VaultEmulator['faults']['add']>[0]) {
  const server = await seeded(t);
  const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
  server.faults.add(fault, { path: `secret/data/${secret}` });
  const outcome = await backend.fetch(ref);
  await backend.close();
  return { outcome, where: `vault ${server.address}: GET secret/data/${secret}` };
}

maybe('an HTML 404 from a proxy in front of Vault is unavailable, naming its shape, never echoing it', async (t) => {
  const { outcome, where } = await readUnder(t, { kind: 'proxy' });
  t.deepEqual(outcome, { status: 'unavailable', reason: `${where}: HTTP 404 not from Vault (body: HTML "404 Not Found")` });
});

maybe('a 404 whose JSON lacks Vault\'s shape is unavailable', async (t) => {
  const { outcome, where } = await readUnder(t, { kind: 'proxy', body: 'json' });
  t.deepEqual(outcome, { status: 'unavailable', reason: `${where}: HTTP 404 not from Vault (body: JSON without Vault's "errors")` });
});

maybe('a 404 with an empty body is unavailable: Vault answers a read with a body', async (t) => {
  const { outcome, where } = await readUnder(t, { kind: 'proxy', body: 'empty' });
  t.deepEqual(outcome, { status: 'unavailable', reason: `${where}: HTTP 404 not from Vault (body: empty)` });
});

maybe('a plain-text 404 is unavailable, its text not quoted', async (t) => {
  const { outcome, where } = await readUnder(t, { kind: 'status', status: 404, raw: 'default backend - 404' });
  t.deepEqual(outcome, { status: 'unavailable', reason: `${where}: HTTP 404 not from Vault (body: text, 21 bytes)` });
});

maybe('Vault\'s own 404 "unsupported path" is unavailable, quoting Vault\'s error and naming the mount', async (t) => {
  const { outcome, where } = await readUnder(t, { kind: 'status', status: 404, errors: [unsupportedPath] });
  t.deepEqual(outcome, { status: 'unavailable', reason: `${where}: HTTP 404: 1 error occurred: * unsupported path (is "secret" a KV v2 mount in this namespace?)` });
});

maybe('a mount Vault does not have is unavailable, not "not found"', async (t) => {
  const server = await seeded(t);
  const { backend } = backendFor(targetOf(server), { kvVersion: 2, mount: 'nope' });
  t.deepEqual(await backend.fetch(ref), { status: 'unavailable', reason: `vault ${server.address}: GET nope/data/${secret}: HTTP 404: no handler for route "nope/data/${secret}". route entry not found. (is "nope" a KV v2 mount in this namespace?)` });
  await backend.close();
});

maybe('a KV v1 read of a KV v2 mount (vault.kvVersion: 1 on the wrong mount) is unavailable, with Vault\'s warning', async (t) => {
  const server = await seeded(t);
  const { backend } = backendFor(targetOf(server), { kvVersion: 1 });
  const outcome = await backend.fetch(ref);
  t.is(outcome.status, 'unavailable');
  t.regex(outcome.status === 'unavailable' ? outcome.reason : '', /: GET secret\/exchange\/binance: HTTP 404: Invalid path for a versioned K\/V secrets engine\..* \(is "secret" a KV v1 mount in this namespace\?\)$/);
  await backend.close();
});

maybe('Vault\'s {"errors":[]} 404 is "not found"', async (t) => {
  const server = await seeded(t);
  const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
  t.deepEqual(await backend.fetch({ kind: 'value', path: 'exchange/kraken/api_key' }), { status: 'not_found' });
  server.faults.add({ kind: 'status', status: 404 }, { path: `secret/data/${secret}` });
  t.deepEqual(await backend.fetch(ref), { status: 'not_found' });
  t.is(await backend.readSecret(secret), undefined);
  await backend.close();
});

maybe('a soft-deleted or destroyed version (Vault\'s 404 envelope) is "not found" with the reason', async (t) => {
  const server = await seeded(t);
  server.setSecret('app', { secret_key: 's' });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
  server.deleteVersions(secret);
  server.destroyVersions('app');
  t.regex(JSON.stringify(await backend.fetch(ref)), /^\{"status":"not_found","reason":"version 1 was deleted at \d{4}-\d\d-\d\dT[\d:.]+Z"\}$/);
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'app' }), { status: 'not_found', reason: 'version 1 is destroyed' });
  await backend.close();
});

maybe('a proxy page quoting the token is never echoed: only a short, scrubbed title', async (t) => {
  const server = await seeded(t);
  const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
  await backend.start();
  server.faults.add({ kind: 'status', status: 404, raw: `<!DOCTYPE html><html><head><title>No route for ${server.token} ${'x'.repeat(300)}</title></head><body>${server.token}</body></html>` }, { path: `secret/data/${secret}` });
  const outcome = await backend.fetch(ref);
  const reason = outcome.status === 'unavailable' ? outcome.reason : '';
  t.true(reason.includes('HTTP 404 not from Vault (body: HTML "No route for [token] xxx'), reason);
  t.false(reason.includes(server.token));
  t.false(reason.includes('<'));
  t.true(reason.length < 200, reason);
  await backend.close();
});

maybe('audit and list: Vault\'s 404 means none; a proxy\'s 404 is ERR_BACKEND_UNAVAILABLE, not "none"', async (t) => {
  const server = await seeded(t);
  const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
  t.is(await backend.readMetadata('missing'), undefined);
  t.deepEqual(await backend.list('nothing-here'), []);
  server.faults.add({ kind: 'proxy' }, { path: /^secret\/metadata\// });
  await t.throwsAsync(backend.readMetadata(secret), { code: 'ERR_BACKEND_UNAVAILABLE', message: /HTTP 404 not from Vault \(body: HTML "404 Not Found"\)$/ });
  await t.throwsAsync(backend.list('exchange'), { code: 'ERR_BACKEND_UNAVAILABLE', message: /HTTP 404 not from Vault/ });
  server.faults.clear();
  server.faults.add({ kind: 'status', status: 404, errors: [unsupportedPath] }, { path: /^secret\/metadata\// });
  await t.throwsAsync(backend.list('exchange'), { code: 'ERR_BACKEND_UNAVAILABLE', message: /HTTP 404: 1 error occurred: \* unsupported path/ });
  await backend.close();
});

maybe('KV detection: Vault\'s 404 (old Vault) means KV v1; a proxy\'s 404 is unavailable and not remembered', async (t) => {
  const server = await seeded(t, { secret: 1 });
  server.faults.add({ kind: 'proxy' }, { path: 'sys/internal/ui/mounts/secret', times: 1 });
  server.faults.add({ kind: 'status', status: 404, errors: [unsupportedPath] }, { path: 'sys/internal/ui/mounts/secret' });
  const { backend, logText } = backendFor(targetOf(server));
  const first = await backend.fetch(ref);
  t.deepEqual(first, { status: 'unavailable', reason: `vault ${server.address}: GET sys/internal/ui/mounts/secret: HTTP 404 not from Vault (body: HTML "404 Not Found")` });
  t.deepEqual(withoutMeta(await backend.fetch(ref)), { status: 'found', data: 'k' });
  t.is(server.counters.count({ route: 'mounts' }), 2);
  t.like(server.counters.requests.at(-1), { url: '/v1/secret/exchange/binance' });
  t.regex(logText(), /"level":"warn".*"kvVersion":1.*assuming KV v1/);
  await backend.close();
});

maybe('login: a proxy\'s 404 is unavailable (retried later); an auth mount Vault does not serve is ERR_AUTH', async (t) => {
  const server = await seeded(t);
  const files = await credentialFiles(t, { 'role-id': 'r', 'secret-id': 's' });
  const auth = { method: 'approle' as const, roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') };
  const unmounted = backendFor(targetOf(server), { kvVersion: 2, auth });
  await t.throwsAsync(unmounted.backend.start(), { code: 'ERR_AUTH', message: /no handler for route "auth\/approle\/login"/ });
  await unmounted.backend.close();
  server.addAppRole({ roleId: 'r', secretId: 's', token: { ttl: 600, policies: ['root'] } });
  server.faults.add({ kind: 'proxy' }, { path: 'auth/approle/login', times: 1 });
  const proxied = backendFor(targetOf(server), { kvVersion: 2, auth });
  await t.throwsAsync(proxied.backend.start(), { code: 'ERR_BACKEND_UNAVAILABLE', message: /POST auth\/approle\/login: HTTP 404 not from Vault/ });
  t.like(await proxied.backend.fetch(ref), { status: 'found', data: 'k' });
  await proxied.backend.close();
});

maybe('lookup-self behind a proxy\'s 404: Vault is unavailable, the token is not refused', async (t) => {
  const server = await seeded(t);
  server.faults.add({ kind: 'proxy' }, { path: 'auth/token/lookup-self', times: 1 });
  const { backend } = backendFor(targetOf(server), { kvVersion: 2 });
  await t.throwsAsync(backend.start(), { code: 'ERR_BACKEND_UNAVAILABLE' });
  t.like(await backend.fetch(ref), { status: 'found', data: 'k' });
  await backend.close();
});
