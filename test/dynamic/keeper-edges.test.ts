// The lease keeper at the edges an operator meets (docs/vault.md "Dynamic secrets"), on a FakeClock: a lease revoked
// behind the agent's back, a certificate that has already ended when it arrives, a SIGHUP during an outage, a token
// that expires with nothing to replace it, and what vault.revokeOnShutdown revokes.
import test from 'ava';
import type { CallReply } from '../../agent/backends/vault/dynamic-client.js';
import { LeaseKeeper } from '../../agent/dynamic/keeper.js';
import type { CallSource } from '../../agent/dynamic/keeper.js';
import type { Resolution } from '../../agent/store/chain-walk.js';
import type { Clock } from '../../agent/util/clock.js';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { FakeLeases } from './fake-vault-leases.js';

const CREDS = 'GET database/creds/api-server';

function keeperOn(clock: FakeClock) {
  const changes: string[][] = [];
  const keeper = new LeaseKeeper({ clock, random: () => 0, retry: { min: 500, max: 500 }, events: { onChange: (ids) => { changes.push([...ids]); } } });
  const resolve = async (source: CallSource, identity = CREDS): Promise<Resolution> => {
    const resolution = (await keeper.resolve([identity], source)).get(identity);
    if (!resolution) throw new Error('no resolution');
    return resolution;
  };
  const step = async (ms: number): Promise<void> => {
    await clock.advance(ms);
    await keeper.settled();
    await flush();
  };
  return { keeper, changes, resolve, step };
}

const username = (resolution: Resolution): string => (resolution.status === 'found' ? String((resolution.data as unknown as Record<string, unknown>)['username']) : `<${resolution.status}>`);
const codeOf = (resolution: Resolution): string | undefined => (resolution.status === 'failed' ? resolution.error.code : undefined);

test('a lease revoked behind the agent\'s back (renewal: 400 lease not found) is never served again, even while no new one can be had', async (t) => {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, { ttl: 60, maxTtl: 3600 });
  const { resolve, step, changes } = keeperOn(clock);
  t.is(username(await resolve(vault)), 'user1');
  const lease = vault.leases[0];
  if (lease) lease.revoked = true;
  // The role is gone too: every new issue is refused, so the agent keeps nothing but the revoked lease.
  vault.client.call = () => Promise.resolve({ kind: 'refused', status: 400, reason: 'unknown role' } satisfies CallReply);
  await step(36_000);
  t.true(vault.log.includes('renew database/creds/api-server/lease1 60'));
  const served = await resolve(vault);
  t.is(username(served), '<failed>', 'the revoked user1 is not served as if it worked');
  t.is(codeOf(served), 'ERR_LEASE_EXPIRED');
  t.deepEqual(changes, [[CREDS]], 'its templates are told once');
});

test('a renewal refused with "lease is not renewable" keeps serving the lease, which still works, while it is replaced', async (t) => {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, { ttl: 60, maxTtl: 3600 });
  const { resolve, step } = keeperOn(clock);
  await resolve(vault);
  vault.client.renew = () => Promise.resolve({ kind: 'refused', status: 400, reason: 'lease is not renewable' } satisfies CallReply);
  vault.client.call = () => Promise.resolve({ kind: 'unavailable', reason: 'connection refused' } satisfies CallReply);
  await step(36_000);
  const served = await resolve(vault);
  t.is(username(served), 'user1');
  t.truthy(served.status === 'found' && served.stale);
});

test('a certificate that has already ended when it arrives (clock ahead of Vault\'s) is not served, and is asked for again with the backoff, not in a loop', async (t) => {
  const clock = new FakeClock(100_000);
  let issues = 0;
  const source: CallSource = {
    start: () => Promise.resolve(undefined),
    client: {
      call: () => {
        issues += 1;
        // A guard so that a loop fails the test instead of hanging it.
        if (issues > 50) return Promise.resolve({ kind: 'unavailable', reason: 'stopped' });
        return Promise.resolve({ kind: 'ok', body: { lease_id: '', lease_duration: 0, data: { certificate: 'C', private_key: 'K', expiration: Math.floor(clock.now() / 1000) - 30 } } });
      },
      renew: () => Promise.reject(new Error('no lease')),
      revoke: () => Promise.reject(new Error('no lease')),
    },
  };
  const { resolve, step } = keeperOn(clock);
  const issue = 'PUT pki/issue/web common_name="web.dsta.internal" ttl="10s"';
  const first = await resolve(source, issue);
  t.is(first.status, 'failed', 'an ended certificate is never written');
  t.regex(first.status === 'failed' ? first.error.message : '', /already ended/);
  await step(5000);
  t.true(issues <= 2, `${issues} issues in 5 s`);
  await resolve(source, issue);
  t.true(issues <= 3, `${issues} issues in 5 s and one cycle`);
});

test('a SIGHUP during an outage that comes back with another token still caps the old token\'s leases at its end, once the new backend starts', async (t) => {
  const clock = new FakeClock(0);
  const { keeper, step } = keeperOn(clock);
  const before = new FakeLeases(clock, { ttl: 60, maxTtl: 3600, token: 'old-token', tokenEnd: 20_000 }).registered();
  await keeper.resolve([CREDS], before);
  await step(10_000);
  const after = new FakeLeases(clock, { ttl: 60, maxTtl: 3600, token: 'new-token' }).registered();
  let up = false;
  after.start = () => Promise.resolve(up ? undefined : 'vault unavailable: connection refused');
  await keeper.resolve([CREDS], after);
  t.deepEqual(clock.pendingDelays, [26_000], 'not known yet: the renewal at 36 s stands');
  up = true;
  await keeper.resolve([CREDS], after);
  t.deepEqual(clock.pendingDelays, [4000], 'the old token ends at 20 s: replaced at 14 s');
});

test('a token that expires with nothing to replace it ends the leases it made: they are not served after its end', async (t) => {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, { ttl: 600, maxTtl: 3600, tokenEnd: 20_000 });
  const { resolve, step } = keeperOn(clock);
  t.is(username(await resolve(vault)), 'user1');
  await step(19_000);
  t.is(username(await resolve(vault)), 'user1');
  vault.down = true;
  await step(1000);
  const served = await resolve(vault);
  t.is(codeOf(served), 'ERR_LEASE_EXPIRED', 'Vault revoked user1 with the token at 20 s');
});

test('vault.revokeOnShutdown revokes the still-live leases of removed templates and of replaced leases too, not the ended ones', async (t) => {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, { ttl: 30, maxTtl: 30, renewable: false });
  const { keeper, step } = keeperOn(clock);
  const other = 'GET database/creds/worker';
  await keeper.resolve([CREDS, other], vault);
  await step(25_500);
  t.is(vault.leases.length, 4, 'both replaced at 25.5 s');
  keeper.retain([CREDS]);
  t.is(await keeper.revokeAll(), 4, 'the held lease, the removed template\'s and the two replaced ones: all still live');
  t.deepEqual(vault.log.filter((line) => line.startsWith('revoke')).sort(), vault.leases.map((lease) => `revoke ${lease.id}`).sort());

  const ended = new FakeLeases(clock, { ttl: 30, maxTtl: 30, renewable: false });
  const later = keeperOn(clock);
  await later.keeper.resolve([CREDS, other], ended);
  later.keeper.retain([CREDS]);
  await later.step(31_000);
  t.is(await later.keeper.revokeAll(), 1);
  t.deepEqual(ended.log.filter((line) => line.startsWith('revoke')), ['revoke database/creds/api-server/lease3'], 'leases that ended need no revocation');
});

test('/v1/status and vault_lease_ttl_seconds agree with the templates once the token that made a lease has ended', async (t) => {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, { ttl: 600, maxTtl: 3600, tokenEnd: 20_000 });
  const { keeper, resolve, step } = keeperOn(clock);
  await resolve(vault);
  await step(10_000);
  t.deepEqual(keeper.leaseTtls(), new Map([['database/creds/api-server', 10]]), 'the token ends in 10 s, and the lease with it');
  vault.down = true; // the token is not renewed: no new lease either
  await step(10_000);
  const [status] = keeper.status();
  t.is(status?.expired, true);
  t.is(status?.lease?.ttlSeconds, 0);
  t.deepEqual(keeper.leaseTtls(), new Map([['database/creds/api-server', 0]]));
});

test('leases without a known end (lease_duration 0, asked for at every cycle) are kept for revokeAll up to a bound, not without end', async (t) => {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, { ttl: 0, maxTtl: 0, issue: (_now, n) => ({ body: { lease_id: `database/creds/x/lease${n}`, lease_duration: 0, renewable: false, data: { username: `user${n}` } } }) });
  const { keeper, resolve } = keeperOn(clock);
  for (let cycle = 0; cycle < 1100; cycle++) await resolve(vault);
  t.is(vault.log.length, 1100, 'no lifetime: asked for at every cycle, as documented');
  t.is(await keeper.revokeAll(), 1001, 'the held lease and the newest 1,000 let go');
  t.true(vault.log.includes('revoke database/creds/x/lease1100'));
  t.false(vault.log.includes('revoke database/creds/x/lease99'));
});

test('the end of the token that made a lease is announced when it comes (templates fail at once), and a token renewed in time costs no request', async (t) => {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, { ttl: 600, maxTtl: 3600 });
  let tokenEnd = 20_000;
  vault.client.tokenExpiresAt = () => tokenEnd;
  const { resolve, step, changes } = keeperOn(clock);
  await resolve(vault);
  await step(15_000);
  tokenEnd = 80_000; // the token manager renewed it
  await step(64_000);
  t.deepEqual(vault.log, ['call GET database/creds/api-server'], 'no request while the token lives: the renewal is at 2/3 of the lease');
  t.deepEqual(changes, []);
  vault.down = true; // nothing renews the token any more: at 80 s Vault revokes it and its leases
  await step(1000);
  t.deepEqual(changes, [[CREDS]], 'the lease ended with the token at 80 s: its templates are told then, not at the next cycle');
  t.deepEqual(vault.log, ['call GET database/creds/api-server', 'call GET database/creds/api-server'], 'one attempt at a new lease, then the backoff');
});

test('a 10-year CA certificate or a 90-day lease arms no timer longer than Node can (2^31-1 ms, else it fires after 1 ms: a request loop)', async (t) => {
  const clock = new FakeClock(0);
  const delays: number[] = [];
  const recording: Clock = {
    now: () => clock.now(),
    sleep: (ms) => clock.sleep(ms),
    setTimeout: (fn, ms) => { delays.push(ms); return clock.setTimeout(fn, ms); },
  };
  const year = 365 * 24 * 3600;
  const ca = new FakeLeases(clock, { ttl: 0, maxTtl: 0, issue: (now) => ({ body: { data: { certificate: 'CA', expiration: Math.floor(now / 1000) + 10 * year } } }) });
  const db = new FakeLeases(clock, { ttl: 90 * 24 * 3600, maxTtl: year });
  const keeper = new LeaseKeeper({ clock: recording, random: () => 0 });
  await keeper.resolve(['GET pki/cert/ca'], ca);
  await keeper.resolve([CREDS], db);
  t.true(delays.length >= 2);
  t.true(delays.every((ms) => ms <= 2 ** 31 - 1), `delays ${delays.join(', ')}`);
  // Woken early, the keeper only re-arms until its planned time: no request before it.
  await clock.advance(2 ** 31);
  await keeper.settled();
  t.deepEqual([ca.log.length, db.log.length], [1, 1]);
  await clock.advance(54 * 24 * 3600 * 1000);
  await keeper.settled();
  t.deepEqual(db.log, [CREDS.replace('GET', 'call GET'), `renew database/creds/api-server/lease1 ${90 * 24 * 3600}`], 'renewed at 60 % of 90 days (54 d), once');
});

test('a call removed while its replacement is in flight: the old and the new lease are each revoked once at shutdown', async (t) => {
  const clock = new FakeClock(0);
  const vault = new FakeLeases(clock, { ttl: 30, maxTtl: 30, renewable: false });
  const { keeper, resolve } = keeperOn(clock);
  await resolve(vault);
  const call = vault.client.call;
  let release: () => void = () => undefined;
  vault.client.call = (...args) => new Promise((done) => { release = () => { done(call(...args)); }; });
  await clock.advance(25_500); // the replacement is asked for, and Vault has not answered yet
  keeper.retain([]);
  release();
  t.is(await keeper.revokeAll(), 2);
  t.deepEqual(vault.log.filter((line) => line.startsWith('revoke')), ['revoke database/creds/api-server/lease1', 'revoke database/creds/api-server/lease2']);
});
