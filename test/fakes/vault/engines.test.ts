// The emulator's database engine and lease table, through the real node-vault 0.12 client and on a FakeClock:
// Vault's envelope and errors, fresh credentials per read, and the lease arithmetic of sys/leases (renewal by
// the role's TTL or an increment, capped at max TTL from issue, gone at expiry), plus revocation and ACLs.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import nodeVault from 'node-vault';
import { bypassProxyForLoopback } from '../../../agent/backends/vault/proxy.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { startVaultEmulator } from './index.js';
import type { VaultEmulator } from './index.js';

const T0 = Date.UTC(2026, 0, 1);

async function open(t: ExecutionContext, clock = new FakeClock(T0)): Promise<{ vault: VaultEmulator; clock: FakeClock }> {
  const vault = await startVaultEmulator({ clock });
  t.teardown(() => vault.close());
  vault.addDatabaseRole('api', { defaultTtl: 3, maxTtl: 9 });
  return { vault, clock };
}

/** A node-vault client as a sidecar builds one: the dsta namespace, `?list=true`, no proxy for loopback. */
function client(vault: VaultEmulator, token = vault.token): nodeVault.client {
  bypassProxyForLoopback(vault.address);
  return nodeVault({ endpoint: vault.address, token, namespace: 'dsta', noCustomHTTPVerbs: true });
}

interface Creds { lease_id: string; renewable: boolean; lease_duration: number; data: { username: string; password: string } }

/** The status and body of a node-vault rejection. */
async function refusal(t: ExecutionContext, promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  const error = await t.throwsAsync(promise);
  const response = (error as Error & { response: { statusCode: number; body: unknown } }).response;
  return { status: response.statusCode, body: response.body };
}

test('database/creds/<role> is Vault\'s envelope with a fresh username and password under a namespaced lease', async (t) => {
  const { vault } = await open(t);
  const raw = await fetch(`${vault.address}/v1/database/creds/api`, { headers: { 'X-Vault-Token': vault.token, 'X-Vault-Namespace': 'dsta' } });
  const text = await raw.text();
  t.regex(text, /^\{"request_id":"[0-9a-f-]{36}","lease_id":"database\/creds\/api\/[0-9A-Za-z]{24}\.[0-9A-Za-z]{5}","renewable":true,"lease_duration":3,"data":\{"password":"[0-9A-Za-z-]{20}","username":"v-root-api-[0-9A-Za-z]{20}-1767225600"\},"wrap_info":null,"warnings":null,"auth":null,"mount_type":"database"\}\n$/);
  const vaultClient = client(vault);
  const first = await vaultClient.read('database/creds/api') as Creds;
  const second = await vaultClient.read('database/creds/api') as Creds;
  t.not(first.data.username, second.data.username);
  t.not(first.data.password, second.data.password);
  t.not(first.lease_id, second.lease_id);
  t.is(first.lease_id.split('.')[1], second.lease_id.split('.')[1], 'one namespace, one id suffix');
  t.deepEqual(vault.leases.counters, { issued: 3, renewed: 0, revoked: 0, refused: 0 });
  t.is(vault.counters.count({ route: 'database' }), 3);
});

test('an unknown role is 400 "unknown role: <name>"; a write to creds is 405', async (t) => {
  const { vault } = await open(t);
  const vaultClient = client(vault);
  t.deepEqual(await refusal(t, vaultClient.read('database/creds/nope')), { status: 400, body: { errors: ['unknown role: nope'] } });
  t.is((await refusal(t, vaultClient.write('database/creds/api', {}))).status, 405);
  t.is(vault.leases.counters.issued, 0);
});

test('lease arithmetic: 3 s / 9 s renewed at 2, 4 and 6.5 s, capped at the 9 s end with Vault\'s warning, gone at 9 s', async (t) => {
  const { vault, clock } = await open(t);
  const vaultClient = client(vault);
  const creds = await vaultClient.read('database/creds/api') as Creds;
  const user = creds.data.username;
  const renew = (body: Record<string, unknown>) => vaultClient.write('sys/leases/renew', { lease_id: creds.lease_id, ...body }) as Promise<{ lease_id: string; lease_duration: number; renewable: boolean; warnings: string[] | null; data: null; mount_type: string }>;

  await clock.advance(2000);
  t.like(await renew({}), { lease_id: creds.lease_id, renewable: true, lease_duration: 3, warnings: null, data: null, mount_type: 'system' });
  t.like(await vaultClient.write('sys/leases/lookup', { lease_id: creds.lease_id }) as object, {
    data: { id: creds.lease_id, issue_time: '2026-01-01T00:00:00Z', expire_time: '2026-01-01T00:00:05Z', last_renewal: '2026-01-01T00:00:02Z', renewable: true, ttl: 3 },
  });
  await clock.advance(2000);
  t.like(await renew({}), { lease_duration: 3, warnings: null });
  await clock.advance(2500);
  t.like(await renew({}), { lease_duration: 2, warnings: ['TTL of "3s" exceeded the effective max_ttl of "2.5s"; TTL value is capped accordingly'] });
  await clock.advance(1500);
  t.like(await renew({ increment: 60 }), { lease_duration: 1, warnings: ['TTL of "1m0s" exceeded the effective max_ttl of "1s"; TTL value is capped accordingly'] });
  t.true(vault.leases.isValid(user));
  t.is(vault.leases.get(creds.lease_id)?.expiresAt, T0 + 9000, 'never past issue + max TTL');

  await clock.advance(1000);
  t.false(vault.leases.isValid(user), 'expired at the 9 s end, on the clock, without a timer');
  t.deepEqual(await refusal(t, vaultClient.write('sys/leases/lookup', { lease_id: creds.lease_id })), { status: 400, body: { errors: ['invalid lease'] } });
  t.deepEqual(await refusal(t, renew({})), { status: 400, body: { errors: ['lease not found'] } });
  t.true(vault.leases.validAt(user, T0));
  t.true(vault.leases.validAt(user, T0 + 8999));
  t.false(vault.leases.validAt(user, T0 + 9000));
  t.false(vault.leases.validAt(user, T0 - 1));
  t.false(vault.leases.validAt('v-nobody', T0));
  t.deepEqual(vault.leases.counters, { issued: 1, renewed: 4, revoked: 0, refused: 2 });
  t.deepEqual(vault.leases.events.map((e) => [e.op, e.at - T0, e.ok, e.ttl ?? e.error]), [
    ['issue', 0, true, 3], ['renew', 2000, true, 3], ['lookup', 2000, true, undefined], ['renew', 4000, true, 3],
    ['renew', 6500, true, 2], ['renew', 8000, true, 1], ['lookup', 9000, false, 'invalid lease'], ['renew', 9000, false, 'lease not found'],
  ]);
});

test('a credential that is not renewed ends at its TTL; a short increment shortens the lease, as in Vault', async (t) => {
  const { vault, clock } = await open(t);
  const vaultClient = client(vault);
  const creds = await vaultClient.read('database/creds/api') as Creds;
  await clock.advance(1000);
  t.like(await vaultClient.write('sys/leases/renew', { lease_id: creds.lease_id, increment: '1s' }) as object, { lease_duration: 1 });
  t.is(vault.leases.get(creds.lease_id)?.expiresAt, T0 + 2000);
  await clock.advance(999);
  t.true(vault.leases.isValid(creds.data.username));
  await clock.advance(1);
  t.false(vault.leases.isValid(creds.data.username));
  t.false(vault.leases.validAt(creds.data.username, T0 + 2500), 'the old 3 s end no longer holds');
});

test('the older sys/renew/<lease_id> path renews; an empty lease_id is 400', async (t) => {
  const { vault, clock } = await open(t);
  const vaultClient = client(vault);
  const creds = await vaultClient.read('database/creds/api') as Creds;
  await clock.advance(1000);
  t.like(await vaultClient.request({ path: `/sys/renew/${creds.lease_id}`, method: 'PUT' }) as object, { lease_id: creds.lease_id, lease_duration: 3 });
  t.deepEqual(await refusal(t, vaultClient.write('sys/leases/renew', {})), { status: 400, body: { errors: ['lease_id must be specified'] } });
  t.is(vault.counters.count({ route: 'leases' }), 2);
});

test('revoke ends a lease at once (204, unknown ids too); revoke-prefix ends every lease under a path', async (t) => {
  const { vault, clock } = await open(t);
  const vaultClient = client(vault);
  const first = await vaultClient.read('database/creds/api') as Creds;
  await clock.advance(1000);
  const revoked = await fetch(`${vault.address}/v1/sys/leases/revoke`, { method: 'PUT', headers: { 'X-Vault-Token': vault.token, 'X-Vault-Namespace': 'dsta' }, body: JSON.stringify({ lease_id: first.lease_id }) });
  t.deepEqual([revoked.status, await revoked.text()], [204, '']);
  t.false(vault.leases.isValid(first.data.username));
  t.true(vault.leases.validAt(first.data.username, T0 + 999));
  t.deepEqual(await refusal(t, vaultClient.write('sys/leases/renew', { lease_id: first.lease_id })), { status: 400, body: { errors: ['lease not found'] } });
  await vaultClient.write('sys/leases/revoke', { lease_id: 'database/creds/api/unknown' });

  vault.addDatabaseRole('api2', { defaultTtl: 3 });
  const others = [await vaultClient.read('database/creds/api') as Creds, await vaultClient.read('database/creds/api') as Creds];
  const neighbour = await vaultClient.read('database/creds/api2') as Creds;
  await vaultClient.request({ path: '/sys/leases/revoke-prefix/database/creds/api', method: 'PUT' });
  t.deepEqual(others.map((c) => vault.leases.isValid(c.data.username)), [false, false]);
  t.true(vault.leases.isValid(neighbour.data.username), 'a prefix is a path: database/creds/api does not cover api2');
  const unsynced = await fetch(`${vault.address}/v1/sys/leases/revoke`, { method: 'PUT', headers: { 'X-Vault-Token': vault.token, 'X-Vault-Namespace': 'dsta' }, body: JSON.stringify({ lease_id: neighbour.lease_id, sync: false }) });
  t.deepEqual([unsynced.status, await unsynced.text()], [202, '']);
  t.false(vault.leases.isValid(neighbour.data.username));
  t.deepEqual(vault.leases.counters, { issued: 4, renewed: 0, revoked: 4, refused: 1 });
});

test('revoking the token that made a credential revokes its lease, as Vault revokes a token\'s leases', async (t) => {
  const { vault } = await open(t);
  vault.setPolicy('creds', 'path "database/creds/api" { capabilities = ["read"] }');
  const token = vault.createToken({ ttl: 60, policies: ['creds', 'default'] });
  const creds = await client(vault, token).read('database/creds/api') as Creds;
  t.regex(creds.data.username, /^v-token-api-/, 'the username carries the token\'s display name');
  t.true(vault.leases.isValid(creds.data.username));
  await client(vault, token).write('auth/token/revoke-self', {});
  t.false(vault.leases.isValid(creds.data.username));
});

test('ACLs: the creds path needs read, the default policy renews and looks up leases but does not revoke them', async (t) => {
  const { vault } = await open(t);
  vault.setPolicy('creds', 'path "database/creds/api" { capabilities = ["read"] }');
  const allowed = client(vault, vault.createToken({ ttl: 60, policies: ['creds', 'default'] }));
  const creds = await allowed.read('database/creds/api') as Creds;
  t.like(await allowed.write('sys/leases/renew', { lease_id: creds.lease_id }) as object, { lease_duration: 3 });
  t.like(await allowed.write('sys/leases/lookup', { lease_id: creds.lease_id }) as object, { data: { id: creds.lease_id } });
  t.deepEqual(await refusal(t, allowed.write('sys/leases/revoke', { lease_id: creds.lease_id })), { status: 403, body: { errors: ['permission denied'] } });
  t.deepEqual(await refusal(t, allowed.request({ path: '/sys/leases/revoke-prefix/database/creds/api', method: 'PUT' })), { status: 403, body: { errors: ['permission denied'] } });
  const other = client(vault, vault.createToken({ ttl: 60, policies: ['default'] }));
  t.deepEqual(await refusal(t, other.read('database/creds/api')), { status: 403, body: { errors: ['permission denied'] } });
  vault.setPolicy('deny', 'path "database/creds/*" { capabilities = ["deny"] }');
  const denied = client(vault, vault.createToken({ ttl: 60, policies: ['creds', 'deny'] }));
  t.is((await refusal(t, denied.read('database/creds/api'))).status, 403);
  t.true(vault.leases.isValid(creds.data.username), 'the refused revocations changed nothing');
  t.is(vault.leases.counters.issued, 1);
});

test('sys/mounts enables a database engine; sys/internal/ui/mounts reports its type', async (t) => {
  const { vault } = await open(t);
  const vaultClient = client(vault);
  await vaultClient.write('sys/mounts/db2', { type: 'database' });
  vault.addDatabaseRole('ro', { defaultTtl: 60 }, { mount: 'db2' });
  t.like(await vaultClient.read('db2/creds/ro') as object, { lease_duration: 60, mount_type: 'database' });
  t.like(await vaultClient.read('sys/internal/ui/mounts/database') as object, { data: { type: 'database', path: 'database/', options: null } });
  t.is((await refusal(t, vaultClient.write('sys/mounts/database', { type: 'database' }))).status, 400);
});
