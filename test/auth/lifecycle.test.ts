// The token lifecycle on a FakeClock shared by the emulator (token TTLs) and the agent (renewal timers):
// renewal at ~2/3 of the TTL, a new login at the max TTL or after a failure, warnings for a plain token
// that cannot live longer. Time moves only when a test advances it; no assertion depends on wall time.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { TokenSpec, VaultEmulator } from '../fakes/vault/index.js';
import { FakeClock, sequence } from '../helpers/fake-clock.js';
import type { CredentialFiles } from '../backends/vault/files.js';
import { credentialFiles } from '../backends/vault/files.js';
import { backendFor, emulatorFor } from '../backends/vault/helpers.js';
import { realVault } from '../backends/vault/target.js';
import type { Target } from '../backends/vault/target.js';

const maybe = realVault ? test.skip : test;
const ref = { kind: 'value', path: 'app/secret_key' } as const;

interface Rig {
  clock: FakeClock;
  server: VaultEmulator;
  files: CredentialFiles;
  backend: ReturnType<typeof backendFor>['backend'];
  logText: () => string;
  close: () => Promise<void>;
}

/** Emulator + backend on one FakeClock; `approle` logs in with a role minting `spec` tokens, `token` uses one such token. */
async function rig(t: ExecutionContext, method: 'approle' | 'token', spec: TokenSpec, random: () => number = () => 0): Promise<Rig> {
  const clock = new FakeClock();
  const server = await emulatorFor(t, { clock });
  server.setSecret('app', { secret_key: 'sk' });
  server.addAppRole({ roleId: 'role', secretId: 'secret', token: { policies: ['root'], ...spec } });
  const files = await credentialFiles(t, { 'role-id': 'role', 'secret-id': 'secret' });
  const target = { address: server.address, rootToken: server.token, namespace: 'dsta' } as Target;
  const auth = method === 'approle'
    ? { method: 'approle' as const, roleIdFile: files.path('role-id'), secretIdFile: files.path('secret-id') }
    : { method: 'token' as const, token: server.createToken({ policies: ['root'], ...spec }) };
  const { backend, logText } = backendFor(target, { kvVersion: 2, auth }, { clock, random });
  return { clock, server, files, backend, logText, close: () => backend.close() };
}

/** Advance the clock and wait until every renewal or login it triggered has finished. */
async function step(r: Rig, ms: number): Promise<void> {
  await r.clock.advance(ms);
  await r.backend.settled();
}

maybe('a token with TTL 3 s and max TTL 10 s keeps a 60-second run of reads free of failures', async (t) => {
  const r = await rig(t, 'approle', { ttl: 3, maxTtl: 10 }, sequence(0, 0.37, 0.99, 0.5));
  await r.backend.start();
  const failures: string[] = [];
  for (let elapsed = 0; elapsed < 60_000; elapsed += 250) {
    await step(r, 250);
    const outcome = await r.backend.fetch(ref);
    if (outcome.status !== 'found') failures.push(`${elapsed + 250}ms: ${JSON.stringify(outcome)}`);
  }
  t.deepEqual(failures, []);
  const logins = r.server.counters.count({ route: 'login:approle' });
  t.true(logins >= 6 && logins <= 10, `${logins} logins in 60 s of 10-second tokens`);
  t.true(r.server.counters.count({ route: 'renew-self' }) >= 3 * (logins - 1));
  t.is(r.server.counters.count({ route: 'kv' }), 240);
  await r.close();
});

maybe('renewal is scheduled at 2/3 of the TTL minus the jitter, exactly, and asks for the creation TTL', async (t) => {
  for (const [random, due] of [[0, 18_000], [0.5, 19_000], [0.999, 19_998]] as const) {
    const r = await rig(t, 'token', { ttl: 30, maxTtl: 3600 }, () => random);
    await r.backend.start();
    t.deepEqual(r.clock.pendingDelays, [due]);
    await step(r, due - 1);
    t.is(r.server.counters.count({ route: 'renew-self' }), 0);
    await step(r, 1);
    t.is(r.server.counters.count({ route: 'renew-self' }), 1);
    t.deepEqual(r.server.counters.requests.find((q) => q.route === 'renew-self')?.body, { increment: 30 });
    t.deepEqual(r.clock.pendingDelays, [due]);
    t.like(r.backend.tokenStatus(), { ttlSeconds: 30, renewable: true });
    await r.close();
  }
});

maybe('at the max TTL renewal gives way to a new login, and reads switch to the new token', async (t) => {
  const r = await rig(t, 'approle', { ttl: 30, maxTtl: 50 });
  await r.backend.start();
  const first = r.server.counters.requests.find((q) => q.route === 'lookup-self')?.token;
  await step(r, 18_000);
  t.is(r.server.counters.count({ route: 'login:approle' }), 1);
  await step(r, 18_000);
  t.is(r.server.counters.count({ route: 'renew-self' }), 2);
  t.is(r.server.counters.count({ route: 'login:approle' }), 2);
  t.regex(r.logText(), /"ttlSeconds":14,"requestedSeconds":30,"msg":"vault token renewal can no longer extend the token \(max TTL\)"/);
  await r.backend.fetch(ref);
  const used = r.server.counters.requests.at(-1)?.token;
  t.truthy(used);
  t.not(used, first);
  t.like(r.backend.tokenStatus(), { ttlSeconds: 30, renewable: true });
  await r.close();
});

maybe('a failed renewal logs in again, retrying the login with backoff on the clock', async (t) => {
  const r = await rig(t, 'approle', { ttl: 30, maxTtl: 3600 });
  await r.backend.start();
  r.server.faults.add({ kind: 'status', status: 500 }, { path: 'auth/token/renew-self', times: 1 });
  r.server.faults.add({ kind: 'status', status: 503, errors: ['Vault is sealed'] }, { path: 'auth/approle/login', times: 2 });
  await step(r, 18_000);
  t.is(r.server.counters.count({ route: 'login:approle' }), 2);
  t.deepEqual(r.clock.pendingDelays, [500]);
  t.regex(r.backend.tokenStatus().lastError ?? '', /POST auth\/approle\/login: HTTP 503: Vault is sealed/);
  t.like(await r.backend.fetch(ref), { status: 'found' });
  await step(r, 500);
  t.deepEqual(r.clock.pendingDelays, [1000]);
  await step(r, 1000);
  t.is(r.server.counters.count({ route: 'login:approle' }), 4);
  t.deepEqual(r.clock.pendingDelays, [18_000]);
  t.is(r.backend.tokenStatus().lastError, undefined);
  await r.close();
});

maybe('a plain token renewal that fails on the network is retried with backoff', async (t) => {
  const r = await rig(t, 'token', { ttl: 30, maxTtl: 3600 });
  await r.backend.start();
  r.server.faults.add({ kind: 'reset' }, { path: 'auth/token/renew-self', times: 1 });
  await step(r, 18_000);
  t.deepEqual(r.clock.pendingDelays, [500]);
  await step(r, 500);
  t.is(r.server.counters.count({ route: 'renew-self' }), 2);
  t.deepEqual(r.clock.pendingDelays, [18_000]);
  await r.close();
});

maybe('a plain token capped by its max TTL warns before expiry and reports it in tokenStatus', async (t) => {
  const r = await rig(t, 'token', { ttl: 30, maxTtl: 40 });
  await r.backend.start();
  await step(r, 18_000);
  const status = r.backend.tokenStatus();
  t.like(status, { ttlSeconds: 22, renewable: true, expiresAt: r.clock.now() + 22_000 });
  t.regex(status.lastError ?? '', /^vault token expires at .* and renewal can no longer extend it \(max TTL\); vault.auth.method "token" cannot log in again/);
  t.regex(r.logText(), /"level":"warn".*vault token expires at/);
  t.deepEqual(r.clock.pendingDelays, [22_000]);
  await step(r, 22_000);
  t.like(r.backend.tokenStatus(), { ttlSeconds: 0 });
  t.regex(r.backend.tokenStatus().lastError ?? '', /^vault token expired at /);
  t.regex(r.logText(), /"level":"error".*vault token expired; reads are denied/);
  t.like(await r.backend.fetch(ref), { status: 'denied' });
  t.is(r.server.counters.count({ route: 'renew-self' }), 1);
  await r.close();
});

maybe('a token that is not renewable is never renewed; a warning comes at 2/3 of its TTL', async (t) => {
  const r = await rig(t, 'token', { ttl: 30, renewable: false });
  await r.backend.start();
  t.like(r.backend.tokenStatus(), { ttlSeconds: 30, renewable: false });
  await step(r, 18_000);
  t.is(r.server.counters.count({ route: 'renew-self' }), 0);
  t.regex(r.backend.tokenStatus().lastError ?? '', /and it is not renewable/);
  await r.close();
});

maybe('a token that never expires is never renewed and has no TTL', async (t) => {
  const r = await rig(t, 'token', { ttl: 0 });
  t.deepEqual(r.backend.tokenStatus(), { ttlSeconds: undefined, renewable: false });
  await r.backend.start();
  t.deepEqual(r.backend.tokenStatus(), { ttlSeconds: undefined, renewable: false });
  t.deepEqual(r.clock.pendingDelays, []);
  await r.close();
});

maybe('close stops every timer', async (t) => {
  const r = await rig(t, 'approle', { ttl: 30 });
  await r.backend.start();
  t.is(r.clock.pendingDelays.length, 1);
  await r.close();
  t.deepEqual(r.clock.pendingDelays, []);
});
