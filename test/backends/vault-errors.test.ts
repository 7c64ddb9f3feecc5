// How every kind of Vault failure reaches the chain (docs/design.md "The chain"): not found, denied (after at most one
// re-login), unavailable with the address and path, malformed → ERR_BACKEND_RESPONSE. Emulator faults.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { errorOf } from './outcome.js';
import { isAgentError } from '../../agent/errors.js';
import type { ExecutionContext } from 'ava';
import type { Fault, VaultEmulator } from '../fakes/vault/index.js';
import { credentialFiles } from './vault/files.js';
import { backendFor, emulatorFor } from './vault/helpers.js';
import { realVault } from './vault/target.js';
import type { Target } from './vault/target.js';

const maybe = realVault ? test.skip : test;
const path = 'exchange/binance';
const ref = { kind: 'value', path: `${path}/api_key` } as const;

/** An emulator with one secret, and a target view of it for backendFor. */
async function emulator(t: ExecutionContext): Promise<{ emulator: VaultEmulator; target: Target }> {
  const server = await emulatorFor(t);
  server.setSecret(path, { api_key: 'k' });
  return { emulator: server, target: { address: server.address, rootToken: server.token, namespace: 'dsta' } as Target };
}

/**
 * The outcome of one read while `fault` is armed. `timeout` is vault.timeout, for start's lookup-self too: it is
 * generous, so only a fault that never answers can reach it, however loaded the machine (a 200 ms budget made a
 * prompt 500 or reset lose the race to the client's timeout on a busy 2-core machine).
 */
async function outcomeUnder(t: ExecutionContext, fault: Fault, timeout = '30s'): Promise<{ outcome: Awaited<ReturnType<ReturnType<typeof backendFor>['backend']['fetch']>>; address: string }> {
  const { emulator: server, target } = await emulator(t);
  const { backend } = backendFor(target, { timeout, kvVersion: 2 });
  await backend.start();
  server.faults.add(fault, { path: `secret/data/${path}` });
  const outcome = await backend.fetch(ref);
  await backend.close();
  return { outcome, address: server.address };
}

const unavailable = test.macro(async (t, fault: Fault, expected: RegExp, timeout?: string) => {
  const { outcome, address } = await outcomeUnder(t, fault, timeout);
  t.is(outcome.status, 'unavailable');
  const reason = outcome.status === 'unavailable' ? outcome.reason : '';
  t.true(reason.startsWith(`vault ${address}: GET secret/data/exchange/binance: `), reason);
  t.regex(reason, expected);
});

maybe('a 500 is unavailable', unavailable, { kind: 'status', status: 500, errors: ['internal error'] }, /HTTP 500: internal error$/);
maybe('a 502 with an HTML body is unavailable', unavailable, { kind: 'status', status: 502, raw: '<html>bad gateway</html>' }, /HTTP 502$/);
maybe('a sealed Vault (503) is unavailable', unavailable, { kind: 'status', status: 503, errors: ['Vault is sealed'] }, /HTTP 503: Vault is sealed$/);
maybe('a rate-limit 429 is unavailable', unavailable, { kind: 'rate-limit' }, /rate limited \(HTTP 429\)$/);
maybe('a 412 (standby not caught up) is unavailable', unavailable, { kind: 'status', status: 412 }, /HTTP 412$/);
maybe('a connection reset is unavailable', unavailable, { kind: 'reset' }, /connection reset \(ECONNRESET\)$/);
// The answer comes after 10 minutes (the emulator drops it when it closes), so the 3 s timeout always wins, and
// start's lookup-self has 3 s, not 200 ms, to succeed on a loaded machine.
maybe('an answer slower than vault.timeout is unavailable', unavailable, { kind: 'delay', ms: 600_000 }, /timed out after 3000ms$/, '3s');

maybe('Vault\'s two 404 shapes for a read are "not found"; an empty 404, which Vault sends only to a PATCH, is not', async (t) => {
  const { emulator: server, target } = await emulator(t);
  const { backend } = backendFor(target, { kvVersion: 2 });
  t.deepEqual(await backend.fetch({ kind: 'value', path: 'exchange/kraken/api_key' }), { status: 'not_found' });
  server.deleteVersions(path);
  t.like(await backend.fetch(ref), { status: 'not_found' });
  server.faults.add({ kind: 'status', status: 404, raw: '' });
  t.deepEqual(await backend.fetch({ kind: 'map', path: 'app' }), { status: 'unavailable', reason: `vault ${server.address}: GET secret/data/app: HTTP 404 not from Vault (body: empty)` });
  t.is(server.counters.count({ route: 'kv' }), 3);
  await backend.close();
});

maybe('a 200 whose data.data is null is "not found", not an empty secret', async (t) => {
  const { emulator: server, target } = await emulator(t);
  const { backend } = backendFor(target, { kvVersion: 2 });
  server.faults.add({ kind: 'status', status: 200, raw: '{"data":{"data":null,"metadata":{"version":3}}}' }, { path: `secret/data/${path}` });
  t.deepEqual(await backend.fetch({ kind: 'map', path }), { status: 'not_found' });
  t.is(await backend.readSecret(path), undefined);
});

maybe('connection refused is unavailable, naming address and path', async (t) => {
  const address = `http://127.0.0.1:${await freePort()}`;
  const { backend } = backendFor({ address, rootToken: 'hvs.x', namespace: 'dsta' } as Target, { kvVersion: 2 });
  const outcome = await backend.fetch(ref);
  t.deepEqual(outcome, { status: 'unavailable', reason: `vault ${address}: GET auth/token/lookup-self: connection refused (ECONNREFUSED) (no token yet for GET secret/data/exchange/binance)` });
  t.false(await backend.isAvailable());
  await backend.close();
});

maybe('a Vault that goes away after start is unavailable for reads, naming address and path', async (t) => {
  const { emulator: server, target } = await emulator(t);
  const { backend } = backendFor(target, { kvVersion: 2 });
  await backend.start();
  await server.close();
  const outcome = await backend.fetch(ref);
  t.is(outcome.status, 'unavailable');
  // A pooled keep-alive socket is reset, a fresh one refused: either way the chain moves on.
  t.regex(outcome.status === 'unavailable' ? outcome.reason : '', new RegExp(`^vault ${server.address}: GET secret/data/exchange/binance: connection (reset|refused)`));
  await backend.close();
});

maybe('a sealed Vault is not available and reads are unavailable', async (t) => {
  const { emulator: server, target } = await emulator(t);
  const { backend } = backendFor(target, { kvVersion: 2 });
  await backend.start();
  server.setSealed(true);
  t.false(await backend.isAvailable());
  t.like(await backend.fetch(ref), { status: 'unavailable' });
  server.setSealed(false);
  t.true(await backend.isAvailable());
  t.like(await backend.fetch(ref), { status: 'found', data: 'k' });
  await backend.close();
});

maybe('a malformed JSON body is an ERR_BACKEND_RESPONSE outcome naming the path, quoting nothing of the body', async (t) => {
  const { emulator: server, target } = await emulator(t);
  const { backend } = backendFor(target, { kvVersion: 2 });
  server.faults.add({ kind: 'malformed' }, { path: `secret/data/${path}`, times: 1 });
  const error = await errorOf(backend.fetch(ref));
  t.true(isAgentError(error, 'ERR_BACKEND_RESPONSE'));
  t.is(error.message, `vault ${server.address}: GET secret/data/exchange/binance: malformed response: the body is not a JSON object`);
  t.like(await backend.fetch(ref), { status: 'found' });
  await backend.close();
});

maybe('a 403 with a valid token is denied at once: the token is checked, no login happens', async (t) => {
  const { emulator: server, target } = await emulator(t);
  server.addAppRole({ roleId: 'r', secretId: 's', token: { ttl: 600, policies: ['default'] } });
  const files = await credentialFiles(t, { 'role-id': 'r', 'secret-id': 's' });
  const { backend } = backendFor(target, { kvVersion: 2, auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } });
  await backend.start();
  const outcome = await backend.fetch(ref);
  t.is(outcome.status, 'denied');
  t.is(server.counters.count({ route: 'login:approle' }), 1);
  t.is(server.counters.count({ route: 'kv' }), 1);
  await backend.close();
});

maybe('an expired token earns one re-login and one retry of the read', async (t) => {
  const { emulator: server, target } = await emulator(t);
  server.addAppRole({ roleId: 'r', secretId: 's', token: { ttl: 600, policies: ['root'] } });
  const files = await credentialFiles(t, { 'role-id': 'r', 'secret-id': 's' });
  const { backend } = backendFor(target, { kvVersion: 2, auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } });
  await backend.start();
  const first = server.counters.requests.find((r) => r.route === 'kv' || r.route === 'lookup-self')?.token ?? '';
  server.revokeToken(first);
  t.like(await backend.fetch(ref), { status: 'found', data: 'k' });
  t.is(server.counters.count({ route: 'login:approle' }), 2);
  const reads = server.counters.requests.filter((r) => r.route === 'kv');
  t.is(reads.length, 2);
  t.is(reads[0]?.token, first);
  t.not(reads[1]?.token, first);
  await backend.close();
});

maybe('a 403 that survives the re-login stands: denied after exactly one login and one retry', async (t) => {
  const { emulator: server, target } = await emulator(t);
  server.addAppRole({ roleId: 'r', secretId: 's', token: { ttl: 600, policies: ['root'] } });
  const files = await credentialFiles(t, { 'role-id': 'r', 'secret-id': 's' });
  const { backend } = backendFor(target, { kvVersion: 2, auth: { method: 'approle', roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') } });
  await backend.start();
  server.faults.add({ kind: 'status', status: 403, errors: ['permission denied'] }, { path: `secret/data/${path}` });
  server.faults.add({ kind: 'status', status: 403, errors: ['2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'] }, { path: 'auth/token/lookup-self' });
  const outcome = await backend.fetch(ref);
  t.is(outcome.status, 'denied');
  t.is(server.counters.count({ route: 'login:approle' }), 2);
  t.is(server.counters.count({ route: 'kv' }), 2);
  await backend.close();
});

maybe('Vault down at start: start fails as unavailable, reads are unavailable, and recover when it is back', async (t) => {
  const port = await freePort();
  const { backend } = backendFor({ address: `http://127.0.0.1:${port}`, rootToken: 'hvs.x', namespace: 'dsta' } as Target, { kvVersion: 2 });
  await t.throwsAsync(backend.start(), { code: 'ERR_BACKEND_UNAVAILABLE' });
  t.like(await backend.fetch(ref), { status: 'unavailable' });
  const server = await emulatorFor(t, { rootToken: 'hvs.x', port });
  server.setSecret(path, { api_key: 'k' });
  t.like(await backend.fetch(ref), { status: 'found', data: 'k' });
  t.is(server.counters.count({ route: 'lookup-self' }), 1);
  await backend.close();
});

/** A TCP port nobody listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}
