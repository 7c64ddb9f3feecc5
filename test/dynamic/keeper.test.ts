// The lease keeper's schedule, exactly, on a FakeClock (docs/vault.md "Lease timing"): renewal at 2/3 of the lease
// (jitter only earlier), replacement at 85-90 % of what is left once Vault caps a renewal, re-reads, certificates
// re-issued at 2/3 of their validity, backoff during an outage, ERR_LEASE_EXPIRED once the credentials really ended.
import test from 'ava';
import { Writable } from 'node:stream';
import { LeaseKeeper } from '../../agent/dynamic/keeper.js';
import { createLogger } from '../../agent/log/logger.js';
import type { RenewalResult } from '../../agent/dynamic/keeper.js';
import { reissueAt, renewAt, replaceAt } from '../../agent/dynamic/timing.js';
import type { Resolution } from '../../agent/store/chain-walk.js';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { FakeLeases } from './fake-vault-leases.js';

const CREDS = 'GET database/creds/api-server';

function setup(options: { ttl: number; maxTtl: number; renewable?: boolean; random?: () => number; retry?: { min: number; max: number } }) {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, options);
  const changes: string[][] = [];
  const results: RenewalResult[] = [];
  const keeper = new LeaseKeeper({
    clock,
    random: options.random ?? (() => 0),
    retry: options.retry ?? { min: 500, max: 500 },
    events: { onChange: (ids) => { changes.push([...ids]); }, onRenewal: (r) => { results.push(r); } },
  });
  const resolve = async (identity = CREDS): Promise<Resolution> => {
    const resolved = await keeper.resolve([identity], vault);
    const resolution = resolved.get(identity);
    if (!resolution) throw new Error('no resolution');
    return resolution;
  };
  const step = async (ms: number): Promise<void> => {
    await clock.advance(ms);
    await keeper.settled();
    await flush();
  };
  return { clock, vault, keeper, changes, results, resolve, step };
}

const username = (resolution: Resolution): string => (resolution.status === 'found' ? String((resolution.data as unknown as Record<string, unknown>)['username']) : `<${resolution.status}>`);

test('timing: renewal in [0.6, 2/3) of the lease, replacement in [85 %, 90 %) of what is left', (t) => {
  t.is(renewAt(0, 3, () => 0), 1800);
  t.is(renewAt(0, 3, () => 0.999_999), 1999);
  t.is(renewAt(1000, 3600, () => 0.5), 1000 + 2_280_000);
  t.is(replaceAt(7200, 8200, () => 0), 8050);
  t.is(replaceAt(7200, 8200, () => 0.999_999), 8099);
  t.is(replaceAt(9000, 8200, () => 0.5), 9000, 'an end already past: at once');
  t.is(replaceAt(7200, 8200, () => 0, 300), 7900, 'never less than the margin before the end');
  t.is(replaceAt(7200, 7400, () => 0, 300), 7200, 'a margin longer than what is left: at once');
  t.is(reissueAt(0, 6000, () => 0), 3600);
  t.is(reissueAt(0, 72 * 3600 * 1000, () => 0), 155_520_000, '72 h: after 43.2 h');
});

test('a 3 s / 9 s lease: renewed at 1.8 s steps, capped at the max TTL, replaced a tenth of the lease (0.3 s) before its last second ends', async (t) => {
  const { vault, changes, results, resolve, step, clock } = setup({ ttl: 3, maxTtl: 9 });
  t.is(username(await resolve()), 'user1');
  t.deepEqual(clock.pendingDelays, [1800]);
  await step(7200);
  t.deepEqual(vault.log.slice(1), ['renew database/creds/api-server/lease1 3', 'renew database/creds/api-server/lease1 3', 'renew database/creds/api-server/lease1 3', 'renew database/creds/api-server/lease1 3']);
  t.deepEqual(results, ['renewed', 'renewed', 'renewed', 'max_ttl']);
  // Vault answered 1 s (9 s cap - 7.2 s, whole seconds): the lease ends at 8.2 s as far as the agent knows; 85 % of
  // that second (8.05 s) would leave 150 ms, so the replacement comes 300 ms (a tenth of 3 s) before: at 7.9 s.
  t.deepEqual(clock.pendingDelays, [700]);
  await step(699);
  t.deepEqual(changes, []);
  await step(1);
  t.deepEqual(changes, [[CREDS]]);
  t.is(vault.log.at(-1), 'call GET database/creds/api-server');
  t.is(username(await resolve()), 'user2');
  t.deepEqual(results.at(-1), 'replaced');
});

test('over 30 s the credentials served are always a live lease, with renewals and at least three replacements', async (t) => {
  const { vault, changes, resolve, step, clock } = setup({ ttl: 3, maxTtl: 9, random: sequenceOf(0.1, 0.9, 0.5, 0.3, 0.7) });
  await resolve();
  for (let at = 0; at < 30_000; at += 50) {
    await step(50);
    const served = username(await resolve());
    const lease = vault.leases[Number(served.replace('user', '')) - 1];
    t.truthy(lease && vault.live(lease.id, clock.now()), `at ${clock.now()} ms the served ${served} is a live lease`);
  }
  t.true(changes.length >= 3, `${changes.length} replacements`);
  t.true(vault.log.filter((line) => line.startsWith('renew')).length >= 9);
  t.is(vault.log.filter((line) => line.startsWith('call')).length, changes.length + 1, 'one request per replacement, none per cycle');
});

test('during an outage the last credentials serve until the lease ends, then ERR_LEASE_EXPIRED names the call; Vault back: replaced', async (t) => {
  const { vault, changes, results, resolve, step } = setup({ ttl: 3, maxTtl: 60 });
  await resolve();
  vault.down = true;
  await step(2999);
  const before = await resolve();
  t.is(username(before), 'user1');
  t.truthy(before.status === 'found' && before.stale, 'served stale, with the reason');
  t.deepEqual(changes, []);
  t.deepEqual(results, ['failed', 'failed', 'failed'], 'renewal at 1.8 s, retried at 2.3 s and 2.8 s');
  await step(1);
  t.deepEqual(changes, [[CREDS]], 'the end of the lease is announced once, to render the templates');
  const after = await resolve();
  t.is(after.status, 'failed');
  if (after.status === 'failed') {
    t.is(after.error.code, 'ERR_LEASE_EXPIRED');
    t.regex(after.error.message, /the lease of GET database\/creds\/api-server ended at 1970-01-01T00:00:03\.000Z and no new one could be obtained \(vault unavailable for GET database\/creds\/api-server: .*connection refused/);
  }
  vault.down = false;
  await step(500);
  t.deepEqual(changes, [[CREDS], [CREDS]]);
  t.regex(username(await resolve()), /^user\d+$/);
});

test('a refused renewal (lease gone) is replaced at once; a lease that is not renewable is replaced at 85-90 % of it', async (t) => {
  const refused = setup({ ttl: 30, maxTtl: 300 });
  await refused.resolve();
  refused.vault.refuseRenewals = true;
  await refused.step(18_000);
  t.deepEqual(refused.results, ['refused', 'replaced']);
  t.deepEqual(refused.changes, [[CREDS]]);

  const fixed = setup({ ttl: 30, maxTtl: 30, renewable: false });
  await fixed.resolve();
  t.deepEqual(fixed.clock.pendingDelays, [25_500]);
  await fixed.step(25_500);
  t.deepEqual(fixed.vault.log, ['call GET database/creds/api-server', 'call GET database/creds/api-server']);
});

test('a certificate is issued again at 2/3 of its validity; a bare lease_duration is read again at 2/3, re-rendering only on change', async (t) => {
  const clock = new FakeClock(0);
  const cert = new FakeLeases(clock, { ttl: 0, maxTtl: 0, issue: (now, n) => ({ body: { lease_id: '', lease_duration: 0, renewable: false, data: { certificate: `cert${n}`, private_key: `key-${n}-secret`, expiration: Math.floor(now / 1000) + 6 } } }) });
  const changes: string[][] = [];
  const keeper = new LeaseKeeper({ clock, random: () => 0, events: { onChange: (ids) => { changes.push([...ids]); } } });
  const issue = 'PUT pki/issue/api-server common_name="api.dsta.internal" ttl="6s"';
  await keeper.resolve([issue], cert);
  t.deepEqual(clock.pendingDelays, [3600]);
  t.deepEqual(keeper.certificateExpiries(), new Map([['pki/issue/api-server', 6]]));
  await clock.advance(3600);
  await keeper.settled();
  t.deepEqual(changes, [[issue]]);
  t.deepEqual(keeper.certificateExpiries(), new Map([['pki/issue/api-server', 9]]), 'expiration is whole seconds: issued at 3.6 s + 6 s');

  const kv = new FakeLeases(clock, { ttl: 0, maxTtl: 0, issue: (_now, n) => ({ body: { lease_id: '', lease_duration: 60, renewable: false, data: { value: n < 3 ? 'same' : 'new' } } }) });
  const reads: string[][] = [];
  const reader = new LeaseKeeper({ clock, random: () => 0, events: { onChange: (ids) => { reads.push([...ids]); } } });
  await reader.resolve(['GET kv/app'], kv);
  await clock.advance(36_000);
  await reader.settled();
  t.deepEqual(reads, [], 'the same data: nothing to render');
  await clock.advance(36_000);
  await reader.settled();
  t.deepEqual(reads, [['GET kv/app']]);
});

test('calls are shared: concurrent resolves make one request; a held lease costs no request per cycle; revokeAll revokes it', async (t) => {
  const { vault, keeper, resolve } = setup({ ttl: 60, maxTtl: 600 });
  const [a, b] = await Promise.all([resolve(), resolve()]);
  t.is(username(a), 'user1');
  t.is(username(b), 'user1');
  await resolve();
  t.deepEqual(vault.log, ['call GET database/creds/api-server']);
  t.deepEqual(keeper.status().map((s) => ({ call: s.call, ttl: s.lease?.ttlSeconds, next: s.next?.action })), [{ call: CREDS, ttl: 60, next: 'renew' }]);
  t.is(JSON.stringify(keeper.status()).includes('password'), false, 'status holds no value');
  t.is(await keeper.revokeAll(), 1);
  t.deepEqual(vault.log.at(-1), 'revoke database/creds/api-server/lease1');
});

test('after a new login the leases of the old token end with it: renewals go on until then, the replacement comes a tenth of the lease before', async (t) => {
  const { vault, resolve, step, clock, results } = setup({ ttl: 60, maxTtl: 3600 });
  await resolve();
  await step(10_000);
  vault.replaceToken(100_000);
  t.deepEqual(clock.pendingDelays, [26_000], 'the renewal at 36 s stands: the lease ends before the old token');
  await step(62_000);
  t.deepEqual(results, ['renewed', 'max_ttl'], 'the renewal at 72 s reaches past the token: capped at 100 s');
  t.deepEqual(clock.pendingDelays, [22_000], 'replaced at 94 s: 6 s (a tenth of 60 s) before the token ends');
  await step(22_000);
  t.is(vault.log.filter((line) => line.startsWith('call')).length, 2);

  const early = setup({ ttl: 60, maxTtl: 3600 });
  await early.resolve();
  await early.step(10_000);
  early.vault.replaceToken(20_000);
  t.deepEqual(early.clock.pendingDelays, [4000], 'the old token ends at 20 s, before the lease: replaced at 14 s');
  early.vault.replaceToken(undefined);
  t.deepEqual(early.clock.pendingDelays, [4000], 'a token that never expired ends nothing');
});

test('requests per hour of 10 leases of 1 h (max 24 h) over 48 h: renewals at 2/3, against the one request per lease-hour the arithmetic needs', async (t) => {
  const { vault, keeper, clock } = setup({ ttl: 3600, maxTtl: 86_400, random: sequenceOf(0.5, 0.2, 0.8, 0.35, 0.65) });
  const calls = Array.from({ length: 10 }, (_, i) => `GET database/creds/role${i}`);
  await keeper.resolve(calls, vault);
  let invalid = 0;
  for (let hour = 0; hour < 48; hour++) {
    await clock.advance(3_600_000);
    await keeper.settled();
    const served = await keeper.resolve(calls, vault);
    for (const resolution of served.values()) {
      const lease = vault.leases[Number(username(resolution).replace('user', '')) - 1];
      if (!lease || !vault.live(lease.id, clock.now())) invalid += 1;
    }
  }
  const perHour = vault.log.length / 48;
  const minimum = 10;
  t.log(`10 leases of 1 h / 24 h over 48 h: ${vault.log.length} requests (${vault.log.filter((l) => l.startsWith('call')).length} issues), ${perHour.toFixed(2)} per hour; the minimum is ${minimum} (one per lease-hour): ${(perHour / minimum).toFixed(2)} ×`);
  t.is(invalid, 0);
  t.true(perHour >= minimum && perHour <= 1.7 * minimum, `${perHour} requests per hour`);
});

test('a reload that logs in with another token caps the old token\'s leases at its end; the same token changes nothing', async (t) => {
  for (const [token, expected] of [['new-token', [4000]], ['old-token', [26_000]]] as const) {
    const { vault, keeper, clock, step } = setup({ ttl: 60, maxTtl: 3600 });
    const before = new FakeLeases(clock, { ttl: 60, maxTtl: 3600, token: 'old-token', tokenEnd: 20_000 }).registered();
    await keeper.resolve([CREDS], before);
    await step(10_000);
    const after = new FakeLeases(clock, { ttl: 60, maxTtl: 3600, token }).registered();
    await keeper.resolve([CREDS], after);
    t.deepEqual(clock.pendingDelays, expected, token);
    t.deepEqual(vault.log, [], 'the harness source is not used');
  }
});

test('Vault\'s warnings on a response (a ttl= capped at the role\'s max) are logged once, naming the call', async (t) => {
  const clock = new FakeClock(0);
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', stream: new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString('utf8')); done(); } }) });
  const pki = new FakeLeases(clock, { ttl: 0, maxTtl: 0, issue: (now) => ({ body: { lease_id: '', lease_duration: 0, warnings: ['TTL of "100h" exceeded the effective max_ttl of "72h"; TTL value is capped accordingly'], data: { certificate: 'C', expiration: Math.floor(now / 1000) + 72 * 3600 } } }) });
  const keeper = new LeaseKeeper({ clock, random: () => 0, log });
  await keeper.resolve(['PUT pki/issue/web common_name="web.dsta.internal" ttl="100h"'], pki);
  const warned = lines.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((line) => line.level === 'warn');
  t.deepEqual(warned.map((line) => line.msg), ['vault warned about PUT pki/issue/web common_name="web.dsta.internal" ttl="100h": TTL of "100h" exceeded the effective max_ttl of "72h"; TTL value is capped accordingly']);
});

function sequenceOf(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}
